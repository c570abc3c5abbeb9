package dev.turnpike.http;

import dev.turnpike.accesslog.AccessLogEntry;
import dev.turnpike.config.ErrorPages;
import dev.turnpike.metrics.ListenerMetrics;
import dev.turnpike.metrics.RouteMeter;
import dev.turnpike.server.LoopClock;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.channel.FileRegion;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * One request and its response, independent of the protocol that carries it. Everything here runs on the
 * exchange's event loop. A handler answers with {@link #respond}, or {@link #sendHead} then {@link #send} and
 * {@link #end}; errors that Turnpike itself generates go through {@link #sendError} so that custom error pages
 * apply. Reading the request body is opt-in through {@link #subscribeBody}; a body nobody subscribes to is
 * discarded by the connection.
 */
public final class Exchange {
    /** What OPTIONS * and a 405 for TRACE or CONNECT advertise, whatever the protocol. */
    public static final String ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
    private static final String HTTPS = "https";
    private static final AsciiString STRICT_TRANSPORT_SECURITY = AsciiString.cached("strict-transport-security");

    private final ExchangeTransport transport;
    private final HttpServices services;
    /** Replaced by what the access log needs of it once the exchange became a long-lived tunnel. */
    private HttpRequest request;
    private final RequestTarget target;
    private final String host;
    private final String scheme;
    private final ClientPeer peer;
    private InetAddress clientAddress;
    private final InetSocketAddress localAddress;
    private final String requestId;
    private final long startNanos = LoopClock.nanoTime();
    private final boolean head;
    private final TlsInfo tls;

    private String siteName;
    private String routeName;
    private ErrorPages routeErrorPages = ErrorPages.NONE;
    private ErrorPages siteErrorPages = ErrorPages.NONE;
    private String upstreamAddress;
    private String upstreamCluster;
    private RouteMeter meter;

    private int status;
    private boolean headSent;
    private boolean finished;
    /** The exchange became a tunnel ({@link #tunnelOpened}): recorded when it opened, not again when it is over. */
    private boolean tunnel;
    private long bytesSent;
    private HttpHeaders extraResponseHeaders;
    private Runnable writabilityListener;
    private Runnable abortListener;

    public Exchange(ExchangeTransport transport, HttpServices services, HttpRequest request, RequestTarget target,
                    String host, String scheme, ClientPeer peer, InetSocketAddress localAddress) {
        this.transport = transport;
        this.services = services;
        this.request = request;
        this.target = target;
        this.host = host;
        this.scheme = scheme;
        this.peer = peer;
        this.localAddress = localAddress;
        this.head = request.method() == HttpMethod.HEAD;
        this.tls = HTTPS.equals(scheme) ? TlsInfo.of(transport.channel()) : null;
        String suppliedId = request.headers().get(services.requestIdHeader());
        this.requestId = RequestIds.isAcceptable(suppliedId) ? suppliedId : RequestIds.generate();
    }

    // ---- request -------------------------------------------------------------------------------------

    public HttpRequest request() {
        return request;
    }

    public HttpHeaders requestHeaders() {
        return request.headers();
    }

    public HttpMethod method() {
        return request.method();
    }

    /** Normalised path (see {@link RequestTarget}). */
    public String path() {
        return target.path();
    }

    /** Raw query without '?', or null. */
    public String query() {
        return target.query();
    }

    /** Effective host: lower case, without port or trailing dot; from the absolute-form target or Host. */
    public String host() {
        return host;
    }

    public String scheme() {
        return scheme;
    }

    public String protocol() {
        return transport.protocol();
    }

    /**
     * What TLS established for this exchange's connection, including the verified client certificate subject
     * ({@link TlsInfo#clientSubject()}) under mutual TLS; null on plain HTTP.
     */
    public TlsInfo tls() {
        return tls;
    }

    public InetSocketAddress remoteAddress() {
        return peer.address();
    }

    /** The connection's client, with what proxied requests say about it formatted once per connection. */
    public ClientPeer peer() {
        return peer;
    }

    /**
     * The client's address for balancing and limits: the socket peer, or the address a trusted proxy forwarded
     * for (see {@link HttpServices#clientAddress}). Computed once.
     */
    public InetAddress clientAddress() {
        if (clientAddress == null) {
            clientAddress = services.clientAddress(peer.address().getAddress(), request.headers());
        }
        return clientAddress;
    }

    public InetSocketAddress localAddress() {
        return localAddress;
    }

    public String requestId() {
        return requestId;
    }

    public HttpServices services() {
        return services;
    }

    public EventLoop eventLoop() {
        return transport.channel().eventLoop();
    }

    public ByteBufAllocator alloc() {
        return transport.channel().alloc();
    }

    /** Whether {@link FileRegion}s (sendfile) may be sent; false on TLS and HTTP/2. */
    public boolean zeroCopy() {
        return transport.zeroCopy();
    }

    public long startNanos() {
        return startNanos;
    }

    // ---- routing results -------------------------------------------------------------------------------

    public void routed(String siteName, String routeName, ErrorPages siteErrorPages, ErrorPages routeErrorPages) {
        this.siteName = siteName;
        this.routeName = routeName;
        this.siteErrorPages = siteErrorPages;
        this.routeErrorPages = routeErrorPages;
    }

    public String routeName() {
        return routeName;
    }

    /** The site the router chose, or null before routing (or when no site answers the host). */
    public String siteName() {
        return siteName;
    }

    public ErrorPages siteErrorPages() {
        return siteErrorPages;
    }

    public ErrorPages routeErrorPages() {
        return routeErrorPages;
    }

    /** The metrics of the route that answers this exchange (set with the routing result). */
    public void meter(RouteMeter meter) {
        this.meter = meter;
    }

    /**
     * Records which upstream cluster serves the exchange, for metrics; pass the configured name instance (the
     * route's meter finds it by identity).
     */
    public void upstreamCluster(String cluster) {
        this.upstreamCluster = cluster;
    }

    public String upstreamCluster() {
        return upstreamCluster;
    }

    /**
     * Records an upstream attempt, for the access log (never sent to the client). With retries the log lists every
     * endpoint tried, in order, separated by ", " (as nginx's {@code $upstream_addr} does).
     */
    public void upstreamAttempt(String address) {
        this.upstreamAddress = upstreamAddress == null ? address : upstreamAddress + ", " + address;
    }

    // ---- request body ----------------------------------------------------------------------------------

    /** Starts delivering the body to {@code sink}; sends 100 Continue when the client asked for it. */
    public void subscribeBody(BodySink sink) {
        transport.subscribeBody(sink);
    }

    /** Stops reading the client (back-pressure) until {@link #resumeBody()}. */
    public void pauseBody() {
        transport.pauseBody();
    }

    public void resumeBody() {
        transport.resumeBody();
    }

    // ---- response --------------------------------------------------------------------------------------

    public boolean headSent() {
        return headSent;
    }

    public boolean isFinished() {
        return finished;
    }

    public int status() {
        return status;
    }

    public boolean isWritable() {
        return transport.channel().isWritable();
    }

    /** Called on the event loop whenever the client's writability changes while this exchange runs. */
    public void onWritabilityChanged(Runnable listener) {
        this.writabilityListener = listener;
    }

    /** Called once if the exchange is aborted: the client went away or the connection is being torn down. */
    public void onAbort(Runnable listener) {
        this.abortListener = listener;
    }

    /**
     * Adds {@code name: value} to whatever response this exchange sends, its own or an error Turnpike generates (a
     * route's CORS headers, for one). Call before the head is sent.
     */
    public void addResponseHeader(CharSequence name, Object value) {
        if (extraResponseHeaders == null) {
            extraResponseHeaders = io.netty.handler.codec.http.DefaultHttpHeadersFactory.headersFactory().newHeaders();
        }
        extraResponseHeaders.add(name, value);
    }

    /**
     * Sends the response head only; a body follows with {@link #send} and {@link #end}. The head goes out with the
     * first of them or with {@link #flush}, whichever comes first.
     */
    public void sendHead(HttpResponse response) {
        if (response instanceof FullHttpResponse) {
            throw new IllegalArgumentException("sendHead takes a head only; answer a FullHttpResponse with respond()");
        }
        if (headSent) {
            throw new IllegalStateException("response head already sent");
        }
        headSent = true;
        status = response.status().code();
        HttpHeaders h = response.headers();
        if (services.serverHeader() != null) {
            h.set(HttpHeaderNames.SERVER, services.serverHeader());
        } else {
            h.remove(HttpHeaderNames.SERVER);
        }
        if (!h.contains(HttpHeaderNames.DATE)) {
            h.set(HttpHeaderNames.DATE, HttpDate.now());
        }
        h.set(services.requestIdHeader(), requestId);
        if (tls != null && tls.strictTransportSecurity() != null) {
            // The listener's policy replaces an upstream's own: the edge decides how HTTPS is enforced.
            h.set(STRICT_TRANSPORT_SECURITY, tls.strictTransportSecurity());
        }
        if (extraResponseHeaders != null) {
            h.add(extraResponseHeaders);
        }
        transport.writeHead(response);
    }

    /**
     * Ends the exchange by switching protocols: sends {@code head} (its HTTP/1.1 form, 101 Switching Protocols with
     * Upgrade; a transport that switches otherwise, as HTTP/2's extended CONNECT with a 200, translates it) and turns
     * the exchange's stream into a tunnel. From then on the returned channel carries raw bytes ({@link ByteBuf}) in
     * both directions, and its pipeline ends with {@code tunnel} (which may be a {@code ChannelInitializer} that adds
     * handlers of its own): every byte the client sends after the request reaches it, the transport handles no more
     * HTTP on the stream, and it fires {@link TunnelEvent}s into the pipeline. The exchange counts as finished. It goes
     * to the metrics now, as a request answered with {@code head}'s status (a session of hours must not weigh in the
     * request durations), and to the access log when the tunnel closes, with the session's duration and the bytes
     * reported through {@link #countTunnelBytes}.
     *
     * <p>Returns null, having sent nothing, when the stream cannot switch now (the connection is draining, or the
     * client sent more after the request): the exchange is then still open and must be answered.
     */
    public Channel switchProtocols(FullHttpResponse head, ChannelHandler tunnel) {
        if (headSent || finished) {
            throw new IllegalStateException("response already started");
        }
        HttpHeaders h = head.headers();
        if (services.serverHeader() != null) {
            h.set(HttpHeaderNames.SERVER, services.serverHeader());
        } else {
            h.remove(HttpHeaderNames.SERVER);
        }
        if (!h.contains(HttpHeaderNames.DATE)) {
            h.set(HttpHeaderNames.DATE, HttpDate.now());
        }
        h.set(services.requestIdHeader(), requestId);
        status = head.status().code(); // the transport records the handshake in the metrics as it switches
        Channel ch = transport.switchProtocols(head, tunnel);
        if (ch == null) {
            status = 0;
            return null;
        }
        headSent = true;
        finished = true;
        writabilityListener = null;
        abortListener = null;
        request = loggedPart(request);
        return ch;
    }

    /**
     * What the access log reads of {@code r}: a tunnel may live for hours, and thousands of them should not each
     * keep every request header (a WebSocket handshake has a dozen).
     */
    private static HttpRequest loggedPart(HttpRequest r) {
        HttpHeaders all = r.headers();
        HttpHeaders kept = io.netty.handler.codec.http.DefaultHttpHeadersFactory.headersFactory().withValidation(false)
                .newHeaders();
        for (CharSequence name : new CharSequence[] {HttpHeaderNames.REFERER, HttpHeaderNames.USER_AGENT}) {
            String v = all.get(name);
            if (v != null) {
                kept.set(name, v);
            }
        }
        return new io.netty.handler.codec.http.DefaultHttpRequest(r.protocolVersion(), r.method(), r.uri(), kept);
    }

    /** Counts bytes a tunnel sent to the client, for the access log. */
    public void countTunnelBytes(long bytes) {
        bytesSent += bytes;
    }

    /** Writes a body part (HttpContent, ByteBuf, FileRegion or ChunkedInput) without flushing. */
    public ChannelFuture send(Object content) {
        return sendPart(content, false);
    }

    public ChannelFuture sendAndFlush(Object content) {
        return sendPart(content, true);
    }

    private ChannelFuture sendPart(Object content, boolean flush) {
        if (head) {
            ReferenceCountUtil.release(content);
            return transport.channel().newSucceededFuture();
        }
        bytesSent += sizeOf(content);
        return transport.write(content, flush);
    }

    /** Sends what {@link #send} has written so far, e.g. at the end of a batch of upstream reads. */
    public void flush() {
        transport.flush();
    }

    /** Ends the response; {@code last} may carry final bytes or trailers. */
    public ChannelFuture end(LastHttpContent last) {
        if (finished) {
            ReferenceCountUtil.release(last);
            return transport.channel().newSucceededFuture();
        }
        finished = true;
        Object out = last;
        if (head && last.content().isReadable()) {
            last.release();
            out = LastHttpContent.EMPTY_LAST_CONTENT;
        } else {
            bytesSent += last.content().readableBytes();
        }
        return transport.writeLast(out);
    }

    /** Ends the response after a body sent as a FileRegion or ChunkedInput (nothing more to frame). */
    public ChannelFuture end() {
        return end(LastHttpContent.EMPTY_LAST_CONTENT);
    }

    public ChannelFuture respond(FullHttpResponse response) {
        int code = response.status().code();
        if (code < 200 || code == 204) {
            // RFC 9110 section 8.6: never a Content-Length on 1xx and 204.
            response.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
        } else if (!response.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
                && !response.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)) {
            response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        }
        // The head goes out as a plain HttpResponse: handing the FullHttpResponse itself to sendHead would make
        // the encoder write the body with the head, and the body would then be written a second time.
        ByteBuf body = response.content();
        sendHead(new DefaultHttpResponse(response.protocolVersion(), response.status(), response.headers()));
        if (head) {
            body.release();
            return end(LastHttpContent.EMPTY_LAST_CONTENT);
        }
        bytesSent += body.readableBytes();
        finished = true;
        if (!response.trailingHeaders().isEmpty()) {
            // Trailers (a gRPC status, for one) go where the protocol can carry them; HTTP/1.1 drops them here.
            return transport.writeLast(new DefaultLastHttpContent(body, response.trailingHeaders()));
        }
        return transport.writeLast(body.isReadable() ? new DefaultLastHttpContent(body) : releaseEmpty(body));
    }

    private static LastHttpContent releaseEmpty(ByteBuf body) {
        body.release();
        return LastHttpContent.EMPTY_LAST_CONTENT;
    }

    /** A convenience for short bodies. */
    public ChannelFuture respond(HttpResponseStatus status, CharSequence contentType, ByteBuf body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        if (contentType != null) {
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        return respond(r);
    }

    /**
     * Answers with an error Turnpike generated (404, 502 …), using the route's or site's custom page when
     * one exists. If the head was already sent the response can only be cut: the connection is closed.
     */
    public void sendError(HttpResponseStatus status, String detail) {
        if (finished) {
            return; // already answered, aborted, or the client is gone
        }
        if (headSent) {
            abort();
            return;
        }
        respond(services.errors().build(this, status, detail));
    }

    /** Gives up on the response: the connection is closed so the client sees it incomplete. */
    public void abort() {
        if (!finished) {
            finished = true;
            transport.abort();
        }
        fireAbort();
    }

    // ---- called by the transport -----------------------------------------------------------------------

    /** The connection is gone or torn down before the exchange finished. */
    public void transportClosed() {
        if (!finished) {
            finished = true;
            fireAbort();
        }
    }

    public void writabilityChanged() {
        Runnable l = writabilityListener;
        if (l != null) {
            l.run();
        }
    }

    private void fireAbort() {
        Runnable l = abortListener;
        abortListener = null;
        if (l != null) {
            l.run();
        }
    }

    /** Response body bytes handed to the transport so far. */
    public long bytesSent() {
        return bytesSent;
    }

    /**
     * Records the exchange in its listener's metrics: once, from {@link #over} or, for a tunnel, from
     * {@link #tunnelOpened}. (Request body bytes are counted by the transport as they arrive:
     * {@link ListenerMetrics#requestBodyBytes}.)
     */
    private void recordMetrics(ListenerMetrics listener) {
        listener.ended(meter, upstreamCluster, status, LoopClock.nanoTime() - startNanos, bytesSent);
    }

    /**
     * The transport switched this exchange's stream into a tunnel (a WebSocket): the handshake goes to the metrics now,
     * as a request answered with its status, and the listener counts one more open WebSocket until {@link #over}.
     */
    public void tunnelOpened(ListenerMetrics listener) {
        tunnel = true;
        recordMetrics(listener);
        listener.websocketOpened();
    }

    /**
     * The exchange is over, however it ended: records it in {@code metrics} (a tunnel was recorded when it opened and
     * now only stops counting as an open WebSocket), writes its access log entry and tells its snapshot's tracker. The
     * transport calls this exactly once.
     */
    public void over(ListenerMetrics metrics) {
        if (tunnel) {
            metrics.websocketClosed();
        } else {
            recordMetrics(metrics);
        }
        dev.turnpike.accesslog.AccessLog log = services.accessLog();
        if (log != dev.turnpike.accesslog.AccessLog.NONE) { // access_log: off, nothing to build
            try {
                log.log(toAccessLogEntry());
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(Exchange.class).warn("access log failed", e);
            }
        }
        services.tracker().ended(this);
    }

    public AccessLogEntry toAccessLogEntry() {
        HttpHeaders h = request.headers();
        long duration = LoopClock.nanoTime() - startNanos;
        // The wall-clock start, derived when logged rather than read for every request.
        long startMillis = System.currentTimeMillis() - java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(duration);
        return new AccessLogEntry(startMillis, duration,
                peer.address().getAddress().getHostAddress(), request.method().name(), request.uri(),
                transport.protocol(), status, bytesSent, h.get(HttpHeaderNames.REFERER),
                h.get(HttpHeaderNames.USER_AGENT), host, requestId, routeName, upstreamAddress);
    }

    private static long sizeOf(Object content) {
        if (content instanceof ByteBufHolder holder) {
            return holder.content().readableBytes();
        }
        if (content instanceof ByteBuf buf) {
            return buf.readableBytes();
        }
        if (content instanceof FileRegion region) {
            return region.count();
        }
        if (content instanceof io.netty.handler.stream.ChunkedInput<?> input) {
            return Math.max(0, input.length());
        }
        return 0;
    }
}
