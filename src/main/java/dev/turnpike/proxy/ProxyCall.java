package dev.turnpike.proxy;

import dev.turnpike.http.BodySink;
import dev.turnpike.http.Exchange;
import dev.turnpike.upstream.ConnectionPool;
import dev.turnpike.upstream.UpstreamConnection;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.UnknownHostException;
import java.util.ArrayDeque;

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
        ChannelFutureListener {
    private static final Logger LOG = LoggerFactory.getLogger(ProxyCall.class);

    private static final int PHASE_RESPONSE = 1;
    private static final int PHASE_BODY = 2;

    private final ProxyHandler proxy;
    private final Exchange exchange;
    private final ConnectionPool pool;
    private final HttpRequest request;
    private final boolean hasBody;

    private UpstreamConnection conn;
    private boolean connReused;
    private boolean retried;

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

    private int phase;
    /** The connection whose timer is armed for this call, or null. */
    private UpstreamConnection timed;

    ProxyCall(ProxyHandler proxy, Exchange exchange, ConnectionPool pool, HttpRequest request, boolean hasBody) {
        this.proxy = proxy;
        this.exchange = exchange;
        this.pool = pool;
        this.request = request;
        this.hasBody = hasBody;
    }

    void start() {
        exchange.onAbort(this::onClientAbort);
        exchange.onWritabilityChanged(this::onClientWritabilityChanged);
        UpstreamConnection c = pool.pollIdle();
        if (c != null) {
            attach(c, true);
        } else {
            pool.connect(this);
        }
    }

    // ---- connecting --------------------------------------------------------------------------------------

    @Override
    public void connected(UpstreamConnection c) {
        if (finished) {
            c.release(true); // fresh and never used: good for the next request
            return;
        }
        attach(c, false);
    }

    @Override
    public void connectFailed(Throwable cause) {
        if (finished) {
            return;
        }
        LOG.debug("connect to upstream {} failed: {}", pool.endpoint(), cause.toString());
        if (cause instanceof ConnectTimeoutException) {
            fail(HttpResponseStatus.GATEWAY_TIMEOUT, "The upstream did not accept the connection in time.");
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
        ch.write(request, ch.voidPromise());
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
        if (finished || responseDone) {
            content.release();
            return;
        }
        if (conn == null) {
            hold(content);
            return;
        }
        sendBodyPart(content);
    }

    @Override
    public void onEnd(LastHttpContent last) {
        if (finished || responseDone) {
            last.release();
            return;
        }
        if (conn == null) {
            hold(last);
            return;
        }
        sendBodyPart(last);
    }

    private void sendBodyPart(HttpContent part) {
        Channel ch = conn.channel();
        if (part instanceof LastHttpContent last) {
            if (last.content().isReadable() || !last.trailingHeaders().isEmpty()) {
                bodyStarted = true;
            } else {
                emptyEndSeen = true;
            }
            writeLast(last);
            return;
        }
        bodyStarted = true;
        ch.writeAndFlush(part, ch.voidPromise());
        if (!bodyPaused && !ch.isWritable()) {
            bodyPaused = true;
            exchange.pauseBody();
        }
    }

    private void writeLast(LastHttpContent last) {
        requestEnded = true;
        conn.channel().writeAndFlush(last).addListener(this);
        if (!headReceived) {
            arm(PHASE_RESPONSE, proxy.responseTimeoutNanos);
        }
    }

    private void hold(HttpContent part) {
        if (held == null) {
            held = new ArrayDeque<>(2);
        }
        held.add(part);
    }

    private void releaseHeld() {
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
        if (finished) {
            return;
        }
        finished = true;
        cancelTimer();
        closeConnection();
        releaseHeld();
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
        if (msg instanceof HttpResponse head) {
            onHead(head);
        }
        if (msg instanceof HttpContent part && !finished) {
            onBodyPart(part);
        }
    }

    private void onHead(HttpResponse head) {
        int code = head.status().code();
        if (code == 101) {
            ReferenceCountUtil.release(head);
            upstreamFailed("The upstream switched protocols, which is not supported here.");
            return;
        }
        if (code < 200) {
            skippingInterim = true; // 100 or 103: the final response follows
            return;
        }
        if (headReceived) {
            ReferenceCountUtil.release(head);
            upstreamFailed("The upstream sent an invalid response.");
            return;
        }
        headReceived = true;
        reusable = HttpUtil.isKeepAlive(head) && isSelfDelimited(head);
        arm(PHASE_BODY, proxy.idleTimeoutNanos);
        ProxyHeaders.cleanResponse(head.headers());
        head.setProtocolVersion(HttpVersion.HTTP_1_1);
        exchange.sendHead(head);
        flushPending = true;
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
        touchTimer();
        exchange.send(part);
        flushPending = true;
        if (!upstreamPaused && !exchange.isWritable()) {
            upstreamPaused = true;
            conn.channel().config().setAutoRead(false);
        }
    }

    private void finishResponse(LastHttpContent last) {
        responseDone = true;
        finished = true;
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
        exchange.end(last);
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
            exchange.resumeBody();
        }
    }

    private void onClientWritabilityChanged() {
        UpstreamConnection c = conn;
        if (upstreamPaused && c != null && !finished && exchange.isWritable()) {
            upstreamPaused = false;
            touchTimer();
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
            retry();
            return;
        }
        if (exchange.headSent()) {
            abortClient();
        } else {
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

    private void onClientAbort() {
        if (finished) {
            return;
        }
        finished = true;
        cancelTimer();
        closeConnection();
        releaseHeld();
    }

    // ---- failures ---------------------------------------------------------------------------------------------

    /** The upstream misbehaved: 502 if nothing was sent to the client yet, else cut the client's response. */
    private void upstreamFailed(String detail) {
        if (exchange.headSent()) {
            abortClient();
        } else {
            fail(HttpResponseStatus.BAD_GATEWAY, detail);
        }
    }

    private void fail(HttpResponseStatus status, String detail) {
        finished = true;
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
        finished = true;
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

    // ---- timer: the connection's, re-armed lazily (no task scheduled per request) ----------------------------

    private void arm(int p, long timeoutNanos) {
        phase = p;
        UpstreamConnection c = conn;
        if (timed != null && timed != c) {
            timed.disarmTimer();
        }
        timed = c;
        if (c != null) {
            c.armTimer(timeoutNanos, proxy.timerSliceNanos);
        }
    }

    private void touchTimer() {
        if (timed != null) {
            timed.touchTimer(proxy.idleTimeoutNanos);
        }
    }

    private void cancelTimer() {
        UpstreamConnection c = timed;
        timed = null;
        if (c != null) {
            c.disarmTimer();
        }
    }

    @Override
    public void onTimeout() {
        if (finished || timed == null) {
            return;
        }
        timed = null;
        if (phase == PHASE_RESPONSE) {
            LOG.debug("upstream {} did not respond in time", pool.endpoint());
            fail(HttpResponseStatus.GATEWAY_TIMEOUT, "The upstream did not respond in time.");
        } else {
            LOG.debug("upstream {} response body stalled", pool.endpoint());
            upstreamFailed("The upstream stopped sending the response.");
        }
    }
}
