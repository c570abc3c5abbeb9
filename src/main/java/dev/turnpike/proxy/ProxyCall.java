package dev.turnpike.proxy;

import dev.turnpike.grpc.Grpc;
import dev.turnpike.grpc.GrpcErrors;
import dev.turnpike.grpc.GrpcStatus;
import dev.turnpike.grpc.GrpcWebCall;
import dev.turnpike.http.BodySink;
import dev.turnpike.http.Exchange;
import dev.turnpike.server.LoopClock;
import dev.turnpike.upstream.ClusterLimitException;
import dev.turnpike.upstream.ConnectionPool;
import dev.turnpike.upstream.PoolExhaustedException;
import dev.turnpike.upstream.UnprocessedRequestException;
import dev.turnpike.upstream.UpstreamConnection;
import dev.turnpike.upstream.cluster.ClusterRuntime;
import dev.turnpike.upstream.cluster.Outcome;
import dev.turnpike.upstream.cluster.RetryPolicy;
import dev.turnpike.upstream.cluster.StickyCookie;
import dev.turnpike.upstream.cluster.UpstreamTarget;
import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.PickContext;
import dev.turnpike.upstream.lb.PickResult;
import dev.turnpike.upstream.lb.TriedEndpoints;
import dev.turnpike.websocket.WebSocketHandshake;
import dev.turnpike.websocket.WebSocketRoute;
import dev.turnpike.websocket.WebSocketSplice;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One proxied exchange: acquires an upstream connection from the loop's pool, streams the request (head, then
 * the body as the client sends it) and the response (as the upstream sends it) with back-pressure both ways,
 * and decides at the end whether the connection goes back to the pool. Runs entirely on the exchange's event
 * loop; one object per request serves as body sink, connection listener, connect callback and timer.
 *
 * <p>Back-pressure: when the upstream cannot take more request body, the client's body is paused; when the
 * client cannot take more response body, the upstream is not read. Memory per exchange is therefore bounded
 * by the channels' write buffers, whatever the size of the bodies.
 */
final class ProxyCall implements BodySink, UpstreamConnection.Listener, ConnectionPool.ConnectCallback,
        ChannelFutureListener, PickContext {
    private static final Logger LOG = LoggerFactory.getLogger(ProxyCall.class);

    private static final int PHASE_RESPONSE = 1;
    private static final int PHASE_BODY = 2;
    private static final int PHASE_SEND = 3;
    /** How often a request the upstream did not process (GOAWAY, REFUSED_STREAM) is sent again. */
    private static final int MAX_UNPROCESSED_RETRIES = 2;
    /**
     * An upstream failure this close to a call's deadline is taken for the deadline: the upstream enforces the same
     * grpc-timeout and its timer may fire before ours (it cancels the stream), and the client must still be told
     * DEADLINE_EXCEEDED rather than UNAVAILABLE.
     */
    private static final long DEADLINE_SLACK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final String CALL_DEADLINE = "The call's deadline expired before the upstream answered.";

    /** nginx's response header that turns buffering off; a directive to the proxy, never passed to the client. */
    static final AsciiString X_ACCEL_BUFFERING = AsciiString.cached("x-accel-buffering");

    private final ProxyHandler proxy;
    private final Exchange exchange;
    private ConnectionPool pool;
    private final HttpRequest request;
    private final boolean hasBody;
    private final long responseTimeoutNanos;
    private final long idleTimeoutNanos;
    private final long sendTimeoutNanos;  // longest stall while writing the request to the upstream; 0 = off
    private final long totalTimeoutNanos; // the cluster form's whole exchange; 0 = off

    // ---- a WebSocket handshake (all null for other requests) ----
    private WebSocketRoute websocket;
    private WebSocketRoute.Lease wsLease; // the route's slot, until the splice takes it or the call ends
    private String wsAccept;              // the Sec-WebSocket-Accept the upstream must answer
    private boolean streaming;            // the response is a stream: flushed per part, no total timeout

    // ---- cluster form (all null / zero for the URL form) ----
    private final ClusterRuntime cluster;
    private boolean requestOpen;      // tryStartRequest succeeded and endRequest is still due
    private EndpointState endpoint;   // the open attempt's endpoint: onAttemptResult is still due
    private long attemptStart;
    private long headAt;              // when the open attempt's final response head arrived; 0 before
    private int status;               // the open attempt's response status
    private TriedEndpoints tried;
    private String setCookie;         // Set-Cookie of the sticky pick, or null
    private int retries;              // retry attempts started
    private boolean retryGranted;     // a retry-budget slot was taken for the next attempt
    private boolean attemptIsRetry;   // the open attempt holds a retry-budget slot (endRetry is due)
    private boolean keepBody;         // body parts sent are kept (retained copies) so that a retry can resend them
    private long keptBytes;
    private long keepLimit;           // the most body bytes kept
    private ArrayDeque<HttpContent> kept;
    private boolean mirrorWanted;     // this request is to be copied to the route's mirror (not sent yet)
    private ScheduledFuture<?> totalTimer; // the total timeout or the call's deadline, all attempts included
    private boolean deadlineIsCall;   // the timer is the gRPC call's deadline (grpc-timeout), not timeouts.total
    private long callDeadlineAt;      // when the call's deadline expires (System.nanoTime()), if deadlineIsCall

    // ---- gRPC ----
    private final boolean grpc;       // a gRPC (or gRPC-Web) call: failures end it with a grpc-status
    private final GrpcWebCall grpcWeb; // the gRPC-Web translation of the call, or null

    private UpstreamConnection conn;
    private boolean connReused;
    private boolean retried;
    private int unprocessedRetries;   // retries of requests the upstream did not process (HTTP/2)

    private boolean subscribed;
    private boolean bodyStarted;      // request body bytes or trailers were handed to an upstream connection
    private boolean emptyEndSeen;     // the body ended without any byte (so a retry can resend the end)
    private ArrayDeque<HttpContent> held; // body parts that arrived while reconnecting for a retry
    private boolean requestEnded;     // the last request part was written to the current connection …
    private boolean requestWritten;   // … and the write succeeded
    private boolean bodyPaused;       // we paused the client's request body

    private boolean anyResponse;      // something (even a 1xx) came back on the current connection
    private boolean headReceived;     // the final response head arrived
    private boolean skippingInterim;  // inside a dropped 1xx response
    private boolean reusable;         // the response allows keep-alive and is self-delimited
    private boolean responseDone;
    private boolean upstreamPaused;   // we stopped reading the upstream for a slow client
    private boolean flushPending;

    private boolean finished;         // the client side is done (answered, aborted or failed)

    /** What the connection's deadline bounds now (PHASE_*): see {@link #arm} and {@link #onDeadline}. */
    private int phase;

    /** The URL form: every attempt goes to {@code pool}'s endpoint. */
    ProxyCall(ProxyHandler proxy, Exchange exchange, ConnectionPool pool, HttpRequest request, boolean hasBody) {
        this.proxy = proxy;
        this.exchange = exchange;
        this.pool = pool;
        this.request = request;
        this.hasBody = hasBody;
        this.grpc = Grpc.isGrpcRequest(exchange.requestHeaders());
        this.grpcWeb = null;
        this.cluster = null;
        this.responseTimeoutNanos = proxy.responseTimeoutNanos;
        this.idleTimeoutNanos = proxy.idleTimeoutNanos;
        this.sendTimeoutNanos = 0;
        this.totalTimeoutNanos = 0;
        if (proxy.mirror != null) {
            initBodyKeeping(false, proxy.mirror.cluster().retryPolicy().bufferBody());
        }
    }

    /** The cluster form: each attempt goes to the endpoint the cluster picks. */
    ProxyCall(ProxyHandler proxy, Exchange exchange, ClusterRuntime cluster, HttpRequest request, boolean hasBody,
              GrpcWebCall grpcWeb) {
        this.proxy = proxy;
        this.exchange = exchange;
        this.request = request;
        this.hasBody = hasBody;
        this.grpc = Grpc.isGrpcRequest(exchange.requestHeaders());
        this.grpcWeb = grpcWeb;
        this.cluster = cluster;
        // A route's own timeouts (a long-polling route, a stream) replace its cluster's for its requests only.
        this.responseTimeoutNanos = proxy.firstByteNanos >= 0 ? proxy.firstByteNanos : cluster.timeouts().firstByteNanos();
        this.idleTimeoutNanos = proxy.routeIdleNanos >= 0 ? proxy.routeIdleNanos : cluster.timeouts().idleNanos();
        this.sendTimeoutNanos = Math.max(0, cluster.timeouts().sendNanos());
        this.totalTimeoutNanos = proxy.totalNanos >= 0 ? proxy.totalNanos : cluster.timeouts().totalNanos();
        initBodyKeeping(cluster.retryPolicy().maxRetries() > 0, cluster.retryPolicy().bufferBody());
    }

    /**
     * Decides whether the request body is kept (retained copies of what is sent, at most {@code limit} bytes): for
     * retries, and for the mirror, which gets a copy only of a body kept whole. A body of unknown length is kept while
     * it stays within the limit (see {@link #keep}).
     */
    private void initBodyKeeping(boolean forRetries, long limit) {
        mirrorWanted = proxy.mirror != null && proxy.mirror.sample();
        if (!hasBody) {
            return;
        }
        long length = HttpUtil.getContentLength(exchange.request(), -1L);
        boolean fits = limit > 0 && (length < 0 || length <= limit);
        keepLimit = limit;
        keepBody = fits && (forRetries || mirrorWanted);
        if (!fits) {
            mirrorWanted = false; // a streamed body is not mirrored
        }
    }

    /** Sends the mirror's copy, with copies of the kept body (cluster or URL form). */
    private void sendMirror() {
        mirrorWanted = false;
        List<HttpContent> body = null;
        if (kept != null) {
            body = new ArrayList<>(kept.size());
            for (HttpContent part : kept) {
                body.add(part.retainedDuplicate());
            }
        }
        MirrorCall.send(proxy.mirror.cluster(), request, request.headers(), proxy.preserveHost, body, this,
                exchange.eventLoop(), exchange.alloc());
    }

    /**
     * Makes this call a WebSocket handshake: a 101 that accepts the client's key is relayed and the two connections
     * are spliced; any other answer is relayed as a normal response. The call owns {@code lease} until then.
     */
    ProxyCall websocket(WebSocketRoute route, WebSocketRoute.Lease lease, String clientKey) {
        this.websocket = route;
        this.wsLease = lease;
        this.wsAccept = WebSocketHandshake.accept(clientKey);
        this.mirrorWanted = false; // a handshake is not replayed to a shadow
        return this;
    }

    void start() {
        exchange.onAbort(this::cancel);
        exchange.onWritabilityChanged(this::onClientWritabilityChanged);
        if (cluster != null) {
            if (!cluster.tryStartRequest()) {
                finished = true;
                releaseLease();
                exchange.sendError(HttpResponseStatus.SERVICE_UNAVAILABLE,
                        "The upstream cluster is at its request limit.");
                return;
            }
            requestOpen = true;
            startTotalTimer(totalTimeoutNanos);
            startAttempt();
        } else {
            startTotalTimer(0);
            UpstreamConnection c = pool.pollIdle();
            if (c != null) {
                attach(c, true);
            } else {
                pool.connect(this);
            }
        }
        if (mirrorWanted && !hasBody) {
            sendMirror();
        }
    }

    /**
     * Bounds the whole exchange by {@code totalNanos} (0: no bound) and, for a gRPC call, by its deadline
     * ({@code grpc-timeout}), whichever is shorter: a call whose client stopped waiting need not go on upstream.
     */
    private void startTotalTimer(long totalNanos) {
        long bound = totalNanos;
        if (grpc) {
            long deadline = Grpc.timeoutNanos(exchange.requestHeaders().get(Grpc.GRPC_TIMEOUT));
            if (deadline >= 0 && (bound == 0 || deadline < bound)) {
                bound = Math.max(1, deadline);
                deadlineIsCall = true;
                callDeadlineAt = LoopClock.nanoTime() + bound;
            }
        }
        if (bound > 0) {
            totalTimer = exchange.eventLoop().schedule(this::onTotalTimeout, bound, TimeUnit.NANOSECONDS);
        }
    }

    // ---- cluster attempts ------------------------------------------------------------------------------------

    /** Picks an endpoint and opens an attempt on it (cluster form). */
    private void startAttempt() {
        PickResult pick = cluster.pick(this);
        boolean isRetry = retryGranted;
        retryGranted = false;
        if (pick == null) {
            if (isRetry) {
                cluster.endRetry();
            }
            fail(HttpResponseStatus.SERVICE_UNAVAILABLE, "No upstream endpoint is available.");
            return;
        }
        EndpointState e = pick.endpoint();
        if (tried == null) {
            tried = new TriedEndpoints();
        }
        tried.add(e);
        UpstreamTarget where = cluster.target(e);
        StickyCookie sticky = cluster.stickyCookie();
        setCookie = sticky == null ? null : sticky.headerValue(pick, "https".equals(exchange.scheme()));
        exchange.upstreamAttempt(where.describe());
        if (!proxy.preserveHost || !exchange.request().headers().contains(HttpHeaderNames.HOST)) {
            request.headers().set(HttpHeaderNames.HOST, where instanceof UpstreamTarget.Tcp tcp
                    ? tcp.endpoint().hostHeader() : UpstreamTarget.Unix.HOST_HEADER);
        }
        pool = cluster.pool(exchange.eventLoop(), where, exchange.alloc());
        endpoint = e;
        attemptIsRetry = isRetry;
        headAt = 0;
        status = 0;
        attemptStart = LoopClock.nanoTime();
        cluster.onAttemptStart(e);
        UpstreamConnection c = pool.pollIdle();
        if (c != null) {
            attach(c, true);
        } else {
            pool.connect(this);
        }
    }

    /** Reports the open attempt's end, once (no-op for the URL form and when no attempt is open). */
    private void endAttempt(Outcome outcome) {
        EndpointState e = endpoint;
        if (e == null) {
            return;
        }
        endpoint = null;
        long end = headAt != 0 ? headAt : LoopClock.nanoTime();
        cluster.onAttemptResult(e, outcome, end - attemptStart);
        if (attemptIsRetry) {
            attemptIsRetry = false;
            cluster.endRetry();
        }
    }

    /**
     * Whether the attempt that just failed as {@code kind} says is to be tried again (cluster form): the policy allows
     * it for this method and body, attempts are left, nothing went to the client yet, and the retry budget has room
     * (its slot is then taken for the next attempt). Call after {@link #endAttempt}.
     */
    private boolean mayRetry(RetryPolicy.FailureKind kind, int code) {
        if (cluster == null || finished || exchange.headSent()) {
            return false;
        }
        RetryPolicy policy = cluster.retryPolicy();
        if (retries >= policy.maxRetries()
                || !policy.retryable(request.method(), kind, code, bodyStarted && !keepBody)) {
            return false;
        }
        if (!cluster.tryStartRetry()) {
            return false;
        }
        retries++;
        retryGranted = true;
        return true;
    }

    /** {@link #mayRetry} and, when allowed, a new attempt on a freshly picked endpoint. */
    private boolean retryAfter(RetryPolicy.FailureKind kind, int code) {
        if (!mayRetry(kind, code)) {
            return false;
        }
        LOG.debug("retrying {} {} after {} {}", request.method(), request.uri(), kind, code);
        cancelTimer();
        closeConnection();
        requestEnded = false;
        requestWritten = false;
        anyResponse = false;
        headReceived = false;
        skippingInterim = false;
        reusable = false;
        upstreamPaused = false;
        if (subscribed && !bodyPaused) {
            bodyPaused = true;
            exchange.pauseBody();
        }
        startAttempt();
        return true;
    }

    /** Keeps a retained copy of a body part about to be sent, while the body stays within buffer_body. */
    private void keep(HttpContent part) {
        keptBytes += part.content().readableBytes();
        if (keptBytes > keepLimit) {
            keepBody = false; // streamed from now on: no retry can resend it, no mirror gets it
            mirrorWanted = false;
            releaseKept();
            return;
        }
        if (kept == null) {
            kept = new ArrayDeque<>(4);
        }
        kept.add(part.retainedDuplicate());
    }

    private void releaseKept() {
        if (kept != null) {
            HttpContent c;
            while ((c = kept.poll()) != null) {
                c.release();
            }
            kept = null;
        }
    }

    /** The exchange is over for the upstream side: the open attempt ends as {@code outcome}, then the request. */
    private void done(Outcome outcome) {
        releaseLease();
        if (totalTimer != null) {
            totalTimer.cancel(false);
            totalTimer = null;
        }
        if (cluster == null) {
            return;
        }
        endAttempt(outcome);
        if (requestOpen) {
            requestOpen = false;
            cluster.endRequest();
        }
    }

    private void releaseLease() {
        WebSocketRoute.Lease l = wsLease;
        wsLease = null;
        if (l != null) {
            l.release();
        }
    }

    /**
     * The total timeout or the call's deadline expired: whatever attempt is running ends, and so does the exchange. A
     * gRPC call whose response has begun ends with DEADLINE_EXCEEDED in its trailers rather than cut.
     */
    private void onTotalTimeout() {
        totalTimer = null;
        if (finished) {
            return;
        }
        String detail = deadlineIsCall ? CALL_DEADLINE : "The upstream did not answer within the total timeout.";
        LOG.debug("{} {}: {}", request.method(), request.uri(), detail);
        endAttempt(Outcome.TIMEOUT);
        if (!exchange.headSent()) {
            fail(HttpResponseStatus.GATEWAY_TIMEOUT, detail);
        } else if (grpc) {
            endCall(GrpcStatus.DEADLINE_EXCEEDED, detail);
        } else {
            abortClient();
        }
    }

    /** Whether a gRPC call's deadline has (all but) expired: a failure now is reported as the deadline. */
    private boolean atCallDeadline() {
        return grpc && deadlineIsCall && !finished && System.nanoTime() - callDeadlineAt > -DEADLINE_SLACK_NANOS;
    }

    /** Ends a gRPC call whose response head went out with {@code status} in its trailers (in the body for gRPC-Web). */
    private void endCall(GrpcStatus status, String detail) {
        finished = true;
        done(Outcome.CANCELLED);
        cancelTimer();
        closeConnection();
        releaseHeld();
        if (bodyPaused) {
            bodyPaused = false;
            exchange.resumeBody();
        }
        LastHttpContent last = new DefaultLastHttpContent(io.netty.buffer.Unpooled.EMPTY_BUFFER);
        GrpcErrors.status(last.trailingHeaders(), status, detail);
        exchange.end(grpcWeb != null ? grpcWeb.end(last, exchange.alloc()) : last);
    }

    // ---- PickContext (cluster form): read lazily from the exchange ------------------------------------------

    @Override
    public InetAddress clientAddress() {
        return exchange.remoteAddress() == null ? null : exchange.clientAddress();
    }

    @Override
    public CharSequence header(String name) {
        return exchange.requestHeaders().get(name);
    }

    @Override
    public CharSequence cookie(String name) {
        for (String h : exchange.requestHeaders().getAll(HttpHeaderNames.COOKIE)) {
            String v = PickContexts.cookie(h, name);
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    @Override
    public CharSequence path() {
        return exchange.path();
    }

    @Override
    public CharSequence queryParam(String name) {
        return PickContexts.queryParam(exchange.query(), name);
    }

    @Override
    public boolean isTried(EndpointState e) {
        return tried != null && tried.contains(e);
    }

    // ---- connecting --------------------------------------------------------------------------------------

    @Override
    public void connected(UpstreamConnection c) {
        if (finished) {
            c.release(true); // fresh and never used: good for the next request
            return;
        }
        attach(c, c.isReused());
    }

    @Override
    public void connectFailed(Throwable cause) {
        if (finished) {
            return;
        }
        LOG.debug("connect to upstream {} failed: {}", pool.endpoint(), cause.toString());
        if (cause instanceof ClusterLimitException) {
            endAttempt(Outcome.CANCELLED); // the cluster's own limit (circuit breaker), not the endpoint's failure
            fail(HttpResponseStatus.SERVICE_UNAVAILABLE, "The upstream cluster is at its connection limit.");
            return;
        }
        if (cause instanceof PoolExhaustedException) {
            endAttempt(Outcome.CANCELLED); // our own limit, not the endpoint's failure
            fail(HttpResponseStatus.SERVICE_UNAVAILABLE, "The upstream connection pool is full.");
            return;
        }
        endAttempt(Outcome.CONNECT_FAILURE);
        if (retryAfter(RetryPolicy.FailureKind.CONNECT_FAILURE, 0)) {
            return;
        }
        if (cause instanceof ConnectTimeoutException) {
            fail(HttpResponseStatus.GATEWAY_TIMEOUT, "The upstream did not accept the connection in time.");
        } else if (cause instanceof javax.net.ssl.SSLException) {
            // The details (certificate names, CAs) are for the debug log above, not for the client.
            fail(HttpResponseStatus.BAD_GATEWAY, "The TLS handshake with the upstream failed.");
        } else if (cause instanceof UnknownHostException) {
            fail(HttpResponseStatus.BAD_GATEWAY, "The upstream address could not be resolved.");
        } else {
            fail(HttpResponseStatus.BAD_GATEWAY, "The upstream refused the connection.");
        }
    }

    /** Sends the request head (and the body end when there is no body) on {@code c}; reused: it came from the pool. */
    private void attach(UpstreamConnection c, boolean reused) {
        conn = c;
        c.attach(this);
        connReused = reused;
        anyResponse = false;
        Channel ch = c.channel();
        if (sendTimeoutNanos > 0) {
            arm(PHASE_SEND, sendTimeoutNanos); // until the last part's write completes (operationComplete)
        }
        if (!hasBody && kept == null) {
            // No body: the head and its end in one write (one buffer; over HTTP/2 one HEADERS frame that ends the
            // stream) rather than two passes through the codec. The request's own headers are shared, not copied.
            writeLast(new DefaultFullHttpRequest(request.protocolVersion(), request.method(), request.uri(),
                    Unpooled.EMPTY_BUFFER, request.headers(), EmptyHttpHeaders.INSTANCE));
            return;
        }
        ch.write(request, ch.voidPromise());
        if (kept != null) {
            // A retry: resend the body parts the earlier attempt sent (copies; the kept ones stay for another retry).
            for (HttpContent part : kept) {
                if (part instanceof LastHttpContent last) {
                    writeLast(last.retainedDuplicate());
                    return;
                }
                ch.write(part.retainedDuplicate(), ch.voidPromise());
            }
        }
        if (!hasBody || emptyEndSeen) {
            writeLast(LastHttpContent.EMPTY_LAST_CONTENT);
            return;
        }
        ch.flush();
        if (held != null) {
            HttpContent part;
            while (conn == c && (part = held.poll()) != null) {
                sendBodyPart(part);
            }
        }
        if (bodyPaused && conn == c && ch.isWritable()) {
            bodyPaused = false;
            exchange.resumeBody();
        }
        if (!subscribed) {
            subscribed = true;
            exchange.subscribeBody(this);
        }
    }

    // ---- request body (BodySink) ------------------------------------------------------------------------

    @Override
    public void onContent(HttpContent content) {
        onRequestBodyPart(content);
    }

    @Override
    public void onEnd(LastHttpContent last) {
        onRequestBodyPart(last);
    }

    private void onRequestBodyPart(HttpContent part) {
        if (finished || responseDone) {
            part.release();
            return;
        }
        if (grpcWeb != null) {
            try {
                part = grpcWeb.request(part, exchange.alloc());
            } catch (IllegalArgumentException e) {
                endAttempt(Outcome.CANCELLED);
                fail(HttpResponseStatus.BAD_REQUEST, "The gRPC-Web request body is not valid base64.");
                return;
            }
        }
        if (conn == null) {
            hold(part);
        } else {
            sendBodyPart(part);
        }
    }

    private void sendBodyPart(HttpContent part) {
        Channel ch = conn.channel();
        touchSendDeadline();
        if (part instanceof LastHttpContent last) {
            if (last.content().isReadable() || !last.trailingHeaders().isEmpty()) {
                bodyStarted = true;
                if (keepBody) {
                    keep(last);
                }
            } else {
                emptyEndSeen = true;
            }
            if (mirrorWanted && keepBody) {
                sendMirror(); // the whole body is kept: the copy goes now, before the primary's write takes the part
            }
            writeLast(last);
            return;
        }
        bodyStarted = true;
        if (keepBody) {
            keep(part);
        }
        ch.writeAndFlush(part, ch.voidPromise());
        if (!bodyPaused && !ch.isWritable()) {
            bodyPaused = true;
            exchange.pauseBody();
        }
    }

    private void writeLast(LastHttpContent last) {
        requestEnded = true;
        ChannelFuture written = conn.channel().writeAndFlush(last);
        if (written.isDone()) {
            operationComplete(written); // as a listener would hear it now, without the listener machinery
        } else {
            written.addListener(this);
        }
        if (!headReceived && sendTimeoutNanos == 0) {
            arm(PHASE_RESPONSE, responseTimeoutNanos);
        }
    }

    private void hold(HttpContent part) {
        if (held == null) {
            held = new ArrayDeque<>(2);
        }
        held.add(part);
    }

    private void releaseHeld() {
        releaseKept();
        if (held != null) {
            HttpContent c;
            while ((c = held.poll()) != null) {
                c.release();
            }
        }
    }

    /** The write of the request's last part completed. */
    @Override
    public void operationComplete(ChannelFuture future) {
        UpstreamConnection c = conn;
        if (c == null || future.channel() != c.channel()) {
            return;
        }
        if (future.isSuccess()) {
            requestWritten = true;
            if (phase == PHASE_SEND && !headReceived && !finished) {
                arm(PHASE_RESPONSE, responseTimeoutNanos); // sent: the wait for the response head starts
            }
            if (responseDone) {
                conn = null;
                c.release(reusable);
            }
        } else if (responseDone) {
            conn = null;
            c.close();
        } else {
            c.channel().close(); // usually closed already; onClosed decides what the client gets
        }
    }

    @Override
    public void onError(Throwable cause) {
        // The client's body failed (limit, timeout, disconnect): the connection answers the client itself.
        cancel();
    }

    // ---- response (UpstreamConnection.Listener) -------------------------------------------------------------

    @Override
    public void onMessage(Object msg) {
        if (finished) {
            // Only possible while the request's last write completes: bytes after the response spoil the connection.
            ReferenceCountUtil.release(msg);
            reusable = false;
            return;
        }
        if (!(msg instanceof HttpObject obj)) {
            ReferenceCountUtil.release(msg);
            upstreamFailed("The upstream sent an invalid response.");
            return;
        }
        anyResponse = true;
        if (obj.decoderResult().isFailure()) {
            ReferenceCountUtil.release(msg);
            LOG.debug("invalid response from upstream {}: {}", pool.endpoint(), obj.decoderResult().cause().toString());
            upstreamFailed("The upstream sent an invalid response.");
            return;
        }
        if (msg instanceof HttpResponse head && !onHead(head)) {
            return;
        }
        if (msg instanceof HttpContent part && !finished) {
            onBodyPart(part);
        }
    }

    /** Handles a response head; false when the message was released and nothing more of it is to be read. */
    private boolean onHead(HttpResponse head) {
        int code = head.status().code();
        if (code == 101) {
            if (websocket != null && !headReceived) {
                switchToWebSocket(head);
                return false;
            }
            ReferenceCountUtil.release(head);
            upstreamFailed("The upstream switched protocols without being asked to.");
            return false;
        }
        if (code < 200) {
            skippingInterim = true; // 100 or 103: the final response follows
            return true;
        }
        if (headReceived) {
            ReferenceCountUtil.release(head);
            upstreamFailed("The upstream sent an invalid response.");
            return false;
        }
        skippingInterim = false; // over HTTP/2 an interim response has no end of its own
        headReceived = true;
        headAt = LoopClock.nanoTime();
        status = code;
        if (cluster != null && code >= 500) {
            endAttempt(Outcome.HTTP_5XX);
            if (retryAfter(RetryPolicy.FailureKind.STATUS, code)) {
                ReferenceCountUtil.release(head); // held back: the client gets the retry's answer instead
                return false;
            }
        }
        reusable = HttpUtil.isKeepAlive(head) && isSelfDelimited(head);
        arm(PHASE_BODY, idleTimeoutNanos);
        streaming = proxy.streaming || isStream(head.headers());
        if (streaming && totalTimer != null && !deadlineIsCall) {
            // A stream (SSE, a route marked streaming) lasts as long as it lasts: only the idle timeout applies (a
            // gRPC call's own deadline still does: its client stops waiting then).
            totalTimer.cancel(false);
            totalTimer = null;
        }
        head.headers().remove(X_ACCEL_BUFFERING);
        ProxyHeaders.cleanResponse(head.headers());
        if (grpcWeb != null) {
            grpcWeb.responseHeaders(head.headers());
        }
        if (setCookie != null) {
            head.headers().add(HttpHeaderNames.SET_COOKIE, setCookie);
        }
        head.setProtocolVersion(HttpVersion.HTTP_1_1);
        if (head instanceof FullHttpResponse full) {
            // HTTP/2 HEADERS that end the stream: a head and an empty end, sent as such (the exchange takes heads only).
            exchange.sendHead(new DefaultHttpResponse(HttpVersion.HTTP_1_1, full.status(), full.headers()));
            flushPending = true;
            LastHttpContent end = new DefaultLastHttpContent(full.content(), full.trailingHeaders());
            if (grpc && grpcWeb == null && end.trailingHeaders().isEmpty()) {
                // A trailers-only gRPC answer: the client's HTTP/2 transport cannot end the stream with the head, and
                // gRPC clients require trailers after a head that does not end it, so the status goes there too.
                copyStatus(full.headers(), end.trailingHeaders());
            }
            onBodyPart(end);
            return false;
        }
        exchange.sendHead(head);
        flushPending = true;
        return true;
    }

    /** A response its upstream marks as a stream: Server-Sent Events, or nginx's {@code X-Accel-Buffering: no}. */
    static boolean isStream(HttpHeaders h) {
        String type = h.get(HttpHeaderNames.CONTENT_TYPE);
        if (type != null && type.regionMatches(true, 0, "text/event-stream", 0, 17)
                && (type.length() == 17 || type.charAt(17) == ';' || type.charAt(17) == ' ')) {
            return true;
        }
        String buffering = h.get(X_ACCEL_BUFFERING);
        return buffering != null && buffering.strip().equalsIgnoreCase("no");
    }

    /**
     * The upstream accepted the WebSocket handshake: its 101 (checked against the client's key) goes to the client,
     * the client's connection becomes a tunnel, and a {@link WebSocketSplice} joins the two connections. The upstream
     * connection leaves the pool for good (it closes with the WebSocket); the attempt ends here with the handshake's
     * latency, and the endpoint counts the connection as long-lived load until it ends.
     */
    private void switchToWebSocket(HttpResponse head) {
        String wrong = WebSocketHandshake.checkResponse(head, wsAccept);
        if (wrong != null) {
            ReferenceCountUtil.release(head);
            LOG.debug("upstream {} answered a WebSocket handshake wrongly: {}", pool.endpoint(), wrong);
            upstreamFailed("The upstream answered the WebSocket handshake wrongly.");
            return;
        }
        headReceived = true;
        anyResponse = true;
        headAt = LoopClock.nanoTime();
        status = 101;
        cancelTimer();
        FullHttpResponse out = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS,
                Unpooled.EMPTY_BUFFER);
        HttpHeaders h = out.headers().set(head.headers());
        ReferenceCountUtil.release(head);
        ProxyHeaders.cleanResponse(h);
        h.remove(HttpHeaderNames.CONTENT_LENGTH);
        h.remove(X_ACCEL_BUFFERING);
        if (setCookie != null) {
            h.add(HttpHeaderNames.SET_COOKIE, setCookie);
        }
        h.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET).set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);

        UpstreamConnection c = conn;
        conn = null;
        WebSocketRoute.Lease lease = wsLease;
        wsLease = null;
        // The upstream side first: from here its bytes are WebSocket frames, and the splice holds the first ones
        // until the client's side is ready.
        WebSocketSplice splice = new WebSocketSplice(websocket.settings(), c, exchange, lease);
        dev.turnpike.upstream.Http1ConnectionPool.removeHttpCodec(c.channel().pipeline());
        if (exchange.switchProtocols(out, splice) == null) {
            splice.abandon();
            endAttempt(Outcome.CANCELLED);
            fail(HttpResponseStatus.SERVICE_UNAVAILABLE, "The connection cannot switch protocols now.");
            return;
        }
        splice.holdEndpoint(endpoint);
        finished = true;
        flushPending = false;
        done(Outcome.SUCCESS);
        releaseHeld();
    }

    private static void copyStatus(HttpHeaders from, HttpHeaders to) {
        for (CharSequence name : new CharSequence[] {Grpc.GRPC_STATUS, Grpc.GRPC_MESSAGE, Grpc.GRPC_STATUS_DETAILS}) {
            String v = from.get(name);
            if (v != null) {
                to.set(name, v);
            }
        }
    }

    private boolean isSelfDelimited(HttpResponse head) {
        int code = head.status().code();
        return request.method() == HttpMethod.HEAD || code == 204 || code == 304
                || HttpUtil.isTransferEncodingChunked(head) || head.headers().contains(HttpHeaderNames.CONTENT_LENGTH);
    }

    private void onBodyPart(HttpContent part) {
        if (skippingInterim) {
            part.release();
            if (part instanceof LastHttpContent) {
                skippingInterim = false;
            }
            return;
        }
        if (!headReceived) {
            part.release();
            upstreamFailed("The upstream sent an invalid response.");
            return;
        }
        if (part instanceof LastHttpContent last) {
            finishResponse(last);
            return;
        }
        moveDeadline(idleTimeoutNanos);
        HttpContent out = grpcWeb != null ? grpcWeb.response(part, exchange.alloc()) : part;
        if (streaming) {
            exchange.sendAndFlush(out); // each event reaches the client now, not at the end of the read
        } else {
            exchange.send(out);
            flushPending = true;
        }
        if (!upstreamPaused && !exchange.isWritable()) {
            upstreamPaused = true;
            conn.channel().config().setAutoRead(false);
        }
    }

    private void finishResponse(LastHttpContent last) {
        responseDone = true;
        finished = true;
        done(Outcome.ofStatus(status));
        flushPending = false;
        cancelTimer();
        releaseHeld();
        UpstreamConnection c = conn;
        if (c != null) {
            if (requestWritten || !requestEnded || !reusable) {
                conn = null;
                // Released half-used (body still streaming) or not keep-alive: closed, never pooled.
                c.release(reusable && requestWritten);
            }
            // else the request's last write is in flight: operationComplete decides
        }
        if (bodyPaused) {
            bodyPaused = false;
            exchange.resumeBody();
        }
        exchange.end(grpcWeb != null ? grpcWeb.end(last, exchange.alloc()) : last);
    }

    @Override
    public void onReadComplete() {
        if (flushPending && !finished) {
            flushPending = false;
            exchange.flush();
        }
    }

    @Override
    public void onWritabilityChanged() {
        UpstreamConnection c = conn;
        if (bodyPaused && !finished && c != null && c.channel().isWritable()) {
            bodyPaused = false;
            touchSendDeadline();
            exchange.resumeBody();
        }
    }

    /**
     * The send timeout bounds a stall, not the upload: like nginx's proxy_send_timeout, every part handed to the
     * upstream and every time it drains its buffer again moves the deadline, so a slow client with a healthy
     * upstream is never cut by it (the listener's request_body timeout covers a stalled client).
     */
    private void touchSendDeadline() {
        if (phase == PHASE_SEND) {
            moveDeadline(sendTimeoutNanos);
        }
    }

    private void onClientWritabilityChanged() {
        UpstreamConnection c = conn;
        if (upstreamPaused && c != null && !finished && exchange.isWritable()) {
            upstreamPaused = false;
            moveDeadline(idleTimeoutNanos);
            c.channel().config().setAutoRead(true);
        }
    }

    @Override
    public void onClosed(Throwable cause) {
        conn = null;
        if (finished) {
            return;
        }
        if (cause != null) {
            LOG.debug("upstream {} connection failed: {}", pool.endpoint(), cause.toString());
        }
        if (!anyResponse && connReused && !retried && !bodyStarted) {
            // A stale keep-alive connection: the upstream closed it before it could have processed anything.
            // The attempt stays open and goes on with a fresh connection to the same endpoint.
            retry();
            return;
        }
        if (cause instanceof UnprocessedRequestException && !anyResponse && (!bodyStarted || keepBody)
                && unprocessedRetries < MAX_UNPROCESSED_RETRIES) {
            // GOAWAY above our stream, or REFUSED_STREAM: the upstream says it did nothing with the request, so any
            // method may go again (RFC 9113 §8.7), on a new stream; the pool no longer uses a connection going away.
            unprocessedRetries++;
            retry();
            return;
        }
        endAttempt(Outcome.RESET);
        if (exchange.headSent()) {
            abortClient();
        } else if (!retryAfter(RetryPolicy.FailureKind.RESET_AFTER_SENT, 0)) {
            fail(HttpResponseStatus.BAD_GATEWAY, "The upstream closed the connection before responding.");
        }
    }

    private void retry() {
        retried = true;
        cancelTimer();
        requestEnded = false;
        requestWritten = false;
        skippingInterim = false;
        if (subscribed && !bodyPaused) {
            bodyPaused = true;
            exchange.pauseBody();
        }
        pool.connect(this);
    }

    // ---- client side ------------------------------------------------------------------------------------------

    /** The client side is gone or failed: drop the upstream exchange without answering anyone. */
    private void cancel() {
        if (finished) {
            return;
        }
        finished = true;
        done(Outcome.CANCELLED);
        cancelTimer();
        closeConnection();
        releaseHeld();
    }

    // ---- failures ---------------------------------------------------------------------------------------------

    /** The upstream misbehaved: 502 if nothing was sent to the client yet, else cut the client's response. */
    private void upstreamFailed(String detail) {
        endAttempt(Outcome.RESET);
        if (exchange.headSent()) {
            abortClient();
        } else if (!headReceived && retryAfter(RetryPolicy.FailureKind.RESET_AFTER_SENT, 0)) {
            return;
        } else {
            fail(HttpResponseStatus.BAD_GATEWAY, detail);
        }
    }

    private void fail(HttpResponseStatus status, String detail) {
        if (atCallDeadline()) {
            status = HttpResponseStatus.GATEWAY_TIMEOUT;
            detail = CALL_DEADLINE;
        }
        finished = true;
        done(Outcome.CANCELLED);
        cancelTimer();
        closeConnection();
        releaseHeld();
        if (bodyPaused) {
            bodyPaused = false;
            exchange.resumeBody();
        }
        exchange.sendError(status, detail); // aborts the client connection when the head is already out
    }

    private void abortClient() {
        if (atCallDeadline()) {
            endCall(GrpcStatus.DEADLINE_EXCEEDED, CALL_DEADLINE);
            return;
        }
        finished = true;
        done(Outcome.CANCELLED);
        cancelTimer();
        closeConnection();
        releaseHeld();
        exchange.abort();
    }

    private void closeConnection() {
        UpstreamConnection c = conn;
        conn = null;
        if (c != null) {
            c.close();
        }
    }

    // ---- timer: the upstream connection's deadline (one task per connection, re-armed lazily) -------------------

    /** Starts {@code p}: the connection's deadline is {@code timeoutNanos} from now. */
    private void arm(int p, long timeoutNanos) {
        phase = p;
        moveDeadline(timeoutNanos);
    }

    /** The current phase's deadline moves to {@code timeoutNanos} from now (progress was made). */
    private void moveDeadline(long timeoutNanos) {
        UpstreamConnection c = conn;
        if (c != null) {
            c.deadline(LoopClock.nanoTime() + timeoutNanos);
        }
    }

    private void cancelTimer() {
        UpstreamConnection c = conn;
        if (c != null) {
            c.deadline(0);
        }
    }

    @Override
    public void onDeadline() {
        if (finished) {
            return;
        }
        if (phase == PHASE_SEND) {
            LOG.debug("upstream {} did not take the request in time", pool.endpoint());
            endAttempt(Outcome.TIMEOUT);
            fail(HttpResponseStatus.GATEWAY_TIMEOUT, "The upstream did not take the request in time.");
        } else if (phase == PHASE_RESPONSE) {
            LOG.debug("upstream {} did not respond in time", pool.endpoint());
            endAttempt(Outcome.TIMEOUT);
            if (retryAfter(RetryPolicy.FailureKind.TIMEOUT, 0)) {
                return;
            }
            fail(HttpResponseStatus.GATEWAY_TIMEOUT, "The upstream did not respond in time.");
        } else {
            LOG.debug("upstream {} response body stalled", pool.endpoint());
            endAttempt(Outcome.TIMEOUT);
            upstreamFailed("The upstream stopped sending the response.");
        }
    }
}
