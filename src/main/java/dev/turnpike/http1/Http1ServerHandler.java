package dev.turnpike.http1;

import dev.turnpike.config.ListenerConfig;
import dev.turnpike.http.BodySink;
import dev.turnpike.http.ClientPeer;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.ExchangeTransport;
import dev.turnpike.http.HttpServices;
import dev.turnpike.http.RequestBodyException;
import dev.turnpike.http.RequestIds;
import dev.turnpike.http.RequestTarget;
import dev.turnpike.accesslog.AccessLogEntry;
import dev.turnpike.metrics.ListenerMetrics;
import dev.turnpike.server.LoopClock;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * One HTTP/1.1 client connection: turns decoded requests into {@link Exchange}s one at a time, answers
 * pipelined requests in order, manages keep-alive, 100-continue, the request-body hand-off and the
 * connection's timeouts, and closes after framing errors. It never blocks: everything happens on the
 * connection's event loop.
 *
 * <p>Hardening choices: a request with a body is handed to its handler only once the read that carried its
 * head is decoded, so a framing error in the same bytes rejects it before any handler (or upstream) sees
 * it; once the connection is to be closed nothing further is parsed as a request; and an error answer
 * given while the client may still be sending its body is followed by a bounded lingering close, so the
 * client reads the answer instead of a reset.
 */
public final class Http1ServerHandler extends ChannelInboundHandlerAdapter
        implements ExchangeTransport, StrictHttp1RequestDecoder.Listener {
    private static final Logger LOG = LoggerFactory.getLogger(Http1ServerHandler.class);

    /** Body bytes buffered for a handler that has not subscribed yet before reading from the client pauses. */
    private static final int BODY_BUFFER_LIMIT = 64 * 1024;

    private enum Phase { WAIT_REQUEST, HEAD, BODY, PROCESSING }

    /**
     * After an error answer that ends the connection while the client may still be sending (413, 400 …),
     * our side is shut down and input is read and dropped for at most this long before closing: a client
     * blocked writing its body then gets to read the answer instead of a reset (nginx's lingering close).
     */
    private static final long LINGER_NANOS = TimeUnit.SECONDS.toNanos(2);

    private static final String DECODER = "h1-decoder";
    private static final String CHUNKED_WRITER = "chunked-writer";
    /** The tunnel's handler, last in the pipeline after a switch of protocols. */
    private static final String TUNNEL = "tunnel";

    private final Supplier<HttpServices> services;
    private final StrictHttp1RequestDecoder decoder;
    private final Http1ResponseEncoder encoder;
    private final ListenerConfig.Limits limits;
    private final long headTimeoutNanos;
    private final long bodyTimeoutNanos;
    private final long keepAliveNanos;
    /**
     * The timer never sleeps longer than the shortest timeout, so a phase armed while it sleeps (a request
     * head starting on an idle keep-alive connection) is never checked late, and arming never reschedules.
     */
    private final long timerSliceNanos;
    private final Runnable timerTask = this::onTimer;
    private final String scheme;
    private final boolean zeroCopy;
    /** Where an {@code Upgrade} request may switch the connection to, or null. */
    private final ProtocolUpgrade upgrade;
    /** The switch accepted for the current (bodyless) request, done when the decoder's end of it arrives. */
    private ProtocolUpgrade.Switch pendingSwitch;

    private ChannelHandlerContext ctx;
    private final ArrayDeque<Object> pipelined = new ArrayDeque<>(4);
    private boolean processingPipelined;

    private Exchange current;
    /** Whether {@link #current} has gone to the access log (exactly once, however it ends). */
    private boolean currentLogged;
    private HttpRequest currentRequest;
    /** Whether {@link #currentRequest} allows keep-alive: read while its fields are fresh in the cache. */
    private boolean requestKeepAlive;
    private boolean requestComplete;
    /**
     * The current request has no body: it is complete with its head, and the decoder's (empty) last content
     * that follows the head is skipped when it arrives.
     */
    private boolean bodyless;
    private boolean skipEmptyLast;
    private boolean responseDone;
    private boolean closeAfterResponse;
    private boolean expectContinue;
    private BodySink sink;
    private ArrayDeque<HttpContent> bodyBuffer;
    private long bodyBuffered;
    /** Where this connection's exchanges are counted (its listener's metrics, from the channel). */
    private ListenerMetrics listenerMetrics = ListenerMetrics.NONE;
    private long bodyBytes;
    private boolean bodyPaused;
    private boolean draining;
    private boolean closing;
    /** Close with a linger: the request was rejected while its body may still be arriving. */
    private boolean lingerOnClose;
    /**
     * The current request (which has a body) is dispatched when the read that carried its head is fully
     * decoded, so a framing error later in the same bytes rejects it before any handler sees it.
     */
    private boolean dispatchPending;

    /**
     * The current request asks to switch protocols: the decoder is held after it (and the client not read) until
     * the switch happens or the exchange ends without it.
     */
    private boolean held;
    /** The connection switched protocols: it is a tunnel now, and this handler only passes events on. */
    private boolean tunnel;
    /**
     * The current response's head, between {@link #writeHead} and the next write: held so that a response whose
     * end follows at once goes out whole (see {@link #writeLast}). Holds no buffer.
     */
    private HttpResponse heldHead;

    private Phase phase = Phase.WAIT_REQUEST;
    private long deadline;
    private boolean armed;
    private ScheduledFuture<?> timer;
    private ClientPeer peer;
    /**
     * The previous request's target and authority, and what was parsed from them: a connection's requests mostly
     * name the same host, and often the same target (the decoder then hands over the same string).
     */
    private String lastUri;
    private RequestTarget lastTarget;
    private String lastAuthority;
    private String lastHost = "";

    public Http1ServerHandler(Supplier<HttpServices> services, StrictHttp1RequestDecoder decoder,
                              Http1ResponseEncoder encoder, ListenerConfig listener, String scheme, boolean zeroCopy) {
        this(services, decoder, encoder, listener, scheme, zeroCopy, null);
    }

    Http1ServerHandler(Supplier<HttpServices> services, StrictHttp1RequestDecoder decoder,
                       Http1ResponseEncoder encoder, ListenerConfig listener, String scheme, boolean zeroCopy,
                       ProtocolUpgrade upgrade) {
        this.upgrade = upgrade;
        this.services = services;
        this.decoder = decoder;
        this.encoder = encoder;
        this.limits = listener.limits();
        this.headTimeoutNanos = listener.timeouts().requestHead().toNanos();
        this.bodyTimeoutNanos = listener.timeouts().requestBody().toNanos();
        this.keepAliveNanos = listener.timeouts().keepAlive().toNanos();
        this.timerSliceNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(1),
                Math.min(headTimeoutNanos, Math.min(bodyTimeoutNanos, keepAliveNanos)));
        this.scheme = scheme;
        this.zeroCopy = zeroCopy;
        decoder.setListener(this);
    }

    /** Builds the decoder, encoder and this handler for a fresh connection. */
    public static void install(Channel ch, Supplier<HttpServices> services, ListenerConfig listener, String scheme,
                               boolean zeroCopy) {
        install(ch, services, listener, scheme, zeroCopy, null);
    }

    /** As {@link #install(Channel, Supplier, ListenerConfig, String, boolean)}; requests may switch to {@code upgrade}. */
    public static void install(Channel ch, Supplier<HttpServices> services, ListenerConfig listener, String scheme,
                               boolean zeroCopy, ProtocolUpgrade upgrade) {
        ListenerConfig.Limits l = listener.limits();
        StrictHttp1RequestDecoder decoder = new StrictHttp1RequestDecoder(
                new Http1Limits(l.maxRequestLine(), l.maxHeaderSize(), l.maxHeaderCount()));
        Http1ResponseEncoder encoder = new Http1ResponseEncoder();
        ch.pipeline().addLast(DECODER, decoder)
                .addLast("h1-encoder", encoder);
        if (!zeroCopy) {
            // Without sendfile, files go out as ChunkedInput, which needs this handler; with it, it only costs.
            ch.pipeline().addLast(CHUNKED_WRITER, new io.netty.handler.stream.ChunkedWriteHandler());
        }
        ch.pipeline().addLast("h1-handler",
                new Http1ServerHandler(services, decoder, encoder, listener, scheme, zeroCopy, upgrade));
    }

    // ---- lifecycle ---------------------------------------------------------------------------------------

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.listenerMetrics = ListenerMetrics.of(ctx.channel());
        if (ctx.channel().isActive()) {
            arm(Phase.WAIT_REQUEST, headTimeoutNanos);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        arm(Phase.WAIT_REQUEST, headTimeoutNanos);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (tunnel) {
            // The tunnel hears of it first, so that its byte counts are in the access log entry.
            ctx.fireChannelInactive();
            Exchange ex = current;
            current = null;
            if (ex != null) {
                exchangeOver(ex);
            }
            return;
        }
        cancelTimer();
        Exchange ex = current;
        BodySink s = sink;
        current = null;
        sink = null;
        dispatchPending = false;
        closing = true;
        releaseBuffered();
        Object queued;
        while ((queued = pipelined.poll()) != null) {
            ReferenceCountUtil.release(queued);
        }
        if (s != null && !requestComplete) {
            s.onError(new java.nio.channels.ClosedChannelException());
        }
        if (ex != null) {
            if (!ex.isFinished()) {
                ex.transportClosed();
            }
            exchangeOver(ex);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (tunnel) {
            ctx.fireExceptionCaught(cause); // the tunnel decides how its two sides end
            return;
        }
        // A broken TLS record after the handshake reaches here wrapped in a DecoderException: a client problem too.
        if (!(cause instanceof java.io.IOException) && !(cause.getCause() instanceof javax.net.ssl.SSLException)) {
            LOG.warn("closing connection from {} after an unexpected error", ctx.channel().remoteAddress(), cause);
        }
        closeConnection();
    }

    /**
     * Graceful shutdown: finish the exchange in flight, or the request whose head is arriving (its response
     * says Connection: close), then close; an idle connection is closed at once.
     */
    public void drain() {
        if (tunnel) {
            if (!draining) {
                draining = true;
                ctx.fireUserEventTriggered(dev.turnpike.http.TunnelEvent.GOING_AWAY);
            }
            return;
        }
        draining = true;
        if (current == null && pipelined.isEmpty() && !decoder.isMidRequest()) {
            closeConnection();
        }
    }

    /**
     * Aborts the exchange in flight if {@code test} accepts it (a reload's grace period ended for its route): the
     * connection is closed, so the client sees the response cut. A tunnel (a WebSocket) is ended gracefully instead,
     * as on shutdown ({@code GOING_AWAY}): its client reconnects, under the new configuration. Must run on the
     * connection's event loop.
     *
     * @return whether an exchange was ended
     */
    public boolean abortExchangeIf(Predicate<Exchange> test) {
        Exchange ex = current;
        if (tunnel) {
            if (ex != null && !draining && test.test(ex)) {
                drain();
                return true;
            }
            return false;
        }
        if (ex != null && !ex.isFinished() && test.test(ex)) {
            ex.abort();
            return true;
        }
        return false;
    }

    // ---- inbound -----------------------------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (tunnel) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (closing) {
            // Decided to close: nothing after that point is a request any more (the decoder may still be
            // delivering what it parsed from the same read).
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!pipelined.isEmpty()) {
            pipelined.add(msg);
            updateAutoRead();
            return;
        }
        onMessage(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (dispatchPending) {
            dispatchNow();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void onRequestHeadStarted() {
        if (current == null && pipelined.isEmpty() && phase == Phase.WAIT_REQUEST) {
            arm(Phase.HEAD, headTimeoutNanos);
        }
    }

    private void onMessage(Object msg) {
        if (skipEmptyLast && msg instanceof LastHttpContent last) {
            skipEmptyLast = false;
            last.release();
            if (pendingSwitch != null) {
                switchToUpgrade();
            }
            return;
        }
        if (responseDone) {
            // The response is out; what remains of its request body is read and dropped.
            if (msg instanceof HttpContent c) {
                boolean last = c instanceof LastHttpContent;
                int n = c.content().readableBytes();
                bodyBytes += n;
                listenerMetrics.requestBodyBytes(n);
                c.release();
                if (limits.maxBodySize() > 0 && bodyBytes > limits.maxBodySize()) {
                    closeConnection();
                } else if (last) {
                    requestComplete = true;
                    afterExchange();
                } else {
                    touchBodyTimer();
                }
            } else {
                ReferenceCountUtil.release(msg);
                closeConnection();
            }
            return;
        }
        if (current != null && !requestComplete && (msg instanceof HttpContent || msg instanceof Http1DecodeError)) {
            if (msg instanceof HttpContent c) {
                onBody(c);
            } else {
                onBodyError((Http1DecodeError) msg);
            }
            return;
        }
        if (current != null) {
            pipelined.add(msg);
            updateAutoRead();
            return;
        }
        if (msg instanceof HttpRequest req) {
            if (upgrade != null && acceptUpgrade(req)) {
                return;
            }
            startExchange(req);
        } else if (msg instanceof Http1DecodeError err) {
            rejectMalformed(err);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    /**
     * Whether {@code req} switches the connection: it asks to, has no body, nothing follows it, the connection
     * is not draining, and the upgrade accepts it. Then the switch is made when its (empty) end arrives.
     */
    private boolean acceptUpgrade(HttpRequest req) {
        if (!req.headers().contains(HttpHeaderNames.UPGRADE) || draining || !pipelined.isEmpty()
                || req.protocolVersion() != HttpVersion.HTTP_1_1 || HttpUtil.isTransferEncodingChunked(req)
                || HttpUtil.getContentLength(req, 0L) > 0) {
            return false;
        }
        ProtocolUpgrade.Switch s = upgrade.prepare(ctx, req);
        if (s == null) {
            return false;
        }
        pendingSwitch = s;
        skipEmptyLast = true;
        disarm(Phase.PROCESSING);
        return true;
    }

    /**
     * Answers 101 and hands the connection over: from here nothing is HTTP/1.1. The HTTP/1 handlers leave the
     * pipeline, the decoder last, so that whatever it holds beyond the request reaches the new protocol.
     */
    private void switchToUpgrade() {
        ProtocolUpgrade.Switch s = pendingSwitch;
        pendingSwitch = null;
        cancelTimer();
        closing = true;
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS,
                Unpooled.EMPTY_BUFFER);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE)
                .set(HttpHeaderNames.UPGRADE, s.protocol());
        encoder.answeringHead(false);
        ctx.writeAndFlush(r);
        io.netty.channel.ChannelPipeline p = ctx.pipeline();
        p.remove(encoder);
        if (p.get(CHUNKED_WRITER) != null) {
            p.remove(CHUNKED_WRITER);
        }
        p.remove(this);
        try {
            s.install(p, DECODER);
        } finally {
            p.remove(decoder);
        }
    }

    private void startExchange(HttpRequest req) {
        HttpServices svc = services.get();
        currentRequest = req;
        requestKeepAlive = HttpUtil.isKeepAlive(req);
        currentLogged = false;
        requestComplete = false;
        responseDone = false;
        expectContinue = false;
        sink = null;
        bodyBytes = 0;
        boolean hasBody = HttpUtil.isTransferEncodingChunked(req) || HttpUtil.getContentLength(req, 0L) > 0;
        bodyless = !hasBody;
        if (bodyless && asksToSwitch(req)) {
            held = true;
            decoder.hold();
            updateAutoRead();
        }
        if (hasBody) {
            arm(Phase.BODY, bodyTimeoutNanos);
        } else {
            requestComplete = true;
            skipEmptyLast = true;
            disarm(Phase.PROCESSING);
        }

        String uri = req.uri();
        if (!uri.equals(lastUri)) {
            lastTarget = RequestTarget.parse(uri);
            lastUri = uri;
        }
        RequestTarget target = lastTarget;
        String authority = target != null && target.authority() != null
                ? target.authority() : req.headers().get(HttpHeaderNames.HOST);
        if (authority == null || !authority.equals(lastAuthority)) {
            lastHost = RequestTarget.hostOf(authority);
            lastAuthority = authority;
        }
        Exchange ex = new Exchange(this, svc, req, target != null ? target : new RequestTarget("/", null, null),
                lastHost, scheme, peer(), (InetSocketAddress) ctx.channel().localAddress());
        current = ex;
        svc.tracker().started(ex);
        try {
            if (target == null) {
                closeAfterResponse = true;
                ex.sendError(HttpResponseStatus.BAD_REQUEST, "The request target is malformed.");
                return;
            }
            String expect = req.headers().get(HttpHeaderNames.EXPECT);
            // RFC 9110 section 10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
            if (expect != null && req.protocolVersion() == HttpVersion.HTTP_1_1) {
                if (expect.equalsIgnoreCase("100-continue")) {
                    expectContinue = hasBody;
                } else {
                    closeAfterResponse = true;
                    ex.sendError(HttpResponseStatus.EXPECTATION_FAILED, "Only 100-continue is supported.");
                    return;
                }
            }
            if (limits.maxBodySize() > 0 && HttpUtil.getContentLength(req, 0L) > limits.maxBodySize()) {
                closeAfterResponse = true;
                ex.sendError(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                        "The request body is larger than " + limits.maxBodySize() + " bytes.");
                return;
            }
            HttpMethod method = req.method();
            if (method == HttpMethod.CONNECT || method == HttpMethod.TRACE) {
                FullHttpResponse r = svc.errors().build(ex, HttpResponseStatus.METHOD_NOT_ALLOWED,
                        method.name() + " is not served here.");
                r.headers().set(HttpHeaderNames.ALLOW, Exchange.ALLOWED_METHODS);
                ex.respond(r);
                return;
            }
            if (target.path().equals("*")) {
                answerAsteriskOptions(ex);
                return;
            }
            if (hasBody) {
                dispatchPending = true;
                return;
            }
            svc.dispatcher().dispatch(ex);
        } catch (Throwable t) {
            LOG.error("handler failed for {} {}", req.method(), req.uri(), t);
            if (!ex.isFinished()) {
                ex.sendError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "The server failed to handle the request.");
            }
        }
    }

    private void dispatchNow() {
        dispatchPending = false;
        Exchange ex = current;
        if (ex == null || ex.isFinished()) {
            return;
        }
        try {
            ex.services().dispatcher().dispatch(ex);
        } catch (Throwable t) {
            LOG.error("handler failed for {} {}", ex.method(), ex.request().uri(), t);
            if (!ex.isFinished()) {
                ex.sendError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "The server failed to handle the request.");
            }
        }
    }

    private void answerAsteriskOptions(Exchange ex) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.EMPTY_BUFFER);
        r.headers().set(HttpHeaderNames.ALLOW, Exchange.ALLOWED_METHODS);
        ex.respond(r);
    }

    private void onBody(HttpContent c) {
        int n = c.content().readableBytes();
        bodyBytes += n;
        listenerMetrics.requestBodyBytes(n);
        if (limits.maxBodySize() > 0 && bodyBytes > limits.maxBodySize()) {
            c.release();
            failBody(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                    "The request body is larger than " + limits.maxBodySize() + " bytes.");
            return;
        }
        boolean last = c instanceof LastHttpContent;
        if (last) {
            requestComplete = true;
            if (phase == Phase.BODY) {
                disarm(Phase.PROCESSING);
            }
        } else {
            touchBodyTimer();
        }
        if (sink != null) {
            deliver(sink, c);
        } else {
            if (bodyBuffer == null) {
                bodyBuffer = new ArrayDeque<>(4);
            }
            bodyBuffer.add(c);
            bodyBuffered += c.content().readableBytes();
            updateAutoRead();
        }
    }

    private void onBodyError(Http1DecodeError err) {
        failBody(err.status(), err.reason());
    }

    /** The body cannot be completed: tell the handler, answer if nothing was sent yet, and close. */
    private void failBody(HttpResponseStatus status, String reason) {
        Exchange ex = current;
        BodySink s = sink;
        sink = null;
        requestComplete = true;
        closeAfterResponse = true;
        dispatchPending = false;
        lingerOnClose = status.code() != HttpResponseStatus.REQUEST_TIMEOUT.code();
        releaseBuffered();
        if (s != null) {
            s.onError(new RequestBodyException(status, reason));
        }
        if (ex != null && !ex.isFinished()) {
            ex.sendError(status, reason);
        } else {
            closeConnection();
        }
    }

    private static void deliver(BodySink s, HttpContent c) {
        if (c instanceof LastHttpContent last) {
            s.onEnd(last);
        } else {
            s.onContent(c);
        }
    }

    private void rejectMalformed(Http1DecodeError err) {
        cancelTimer();
        String body = "<!DOCTYPE html>\n<html><head><title>" + err.status() + "</title></head><body><h1>"
                + err.status() + "</h1><p>" + dev.turnpike.http.ErrorResponder.escapeHtml(err.reason())
                + "</p></body></html>\n";
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, err.status(),
                ByteBufUtil.writeUtf8(ctx.alloc(), body));
        HttpServices svc = services.get();
        String requestId = RequestIds.generate();
        int length = r.content().readableBytes();
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, dev.turnpike.http.ErrorResponder.TEXT_HTML_UTF8)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, length)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
                .set(HttpHeaderNames.DATE, dev.turnpike.http.HttpDate.now())
                .set(svc.requestIdHeader(), requestId);
        if (svc.serverHeader() != null) {
            r.headers().set(HttpHeaderNames.SERVER, svc.serverHeader());
        }
        encoder.answeringHead(false);
        ctx.channel().config().setAutoRead(false);
        closing = true;
        boolean linger = err.status().code() != HttpResponseStatus.REQUEST_TIMEOUT.code();
        ctx.writeAndFlush(r).addListener(f -> {
            if (f.isSuccess() && linger) {
                closeAfterLinger();
            } else {
                ctx.close();
            }
        });
        listenerMetrics.ended(null, null, err.status().code(), 0, length);
        try {
            // The request line may not even exist: the entry says so with "-" rather than echoing bad bytes.
            InetSocketAddress remote = (InetSocketAddress) ctx.channel().remoteAddress();
            svc.accessLog().log(new AccessLogEntry(System.currentTimeMillis(), 0,
                    remote == null ? "-" : remote.getAddress().getHostAddress(), "-", "-", "-",
                    err.status().code(), length, null, null, "", requestId, null, null));
        } catch (RuntimeException e) {
            LOG.warn("access log failed", e);
        }
        LOG.debug("rejected request from {}: {} {}", ctx.channel().remoteAddress(), err.status().code(), err.reason());
    }

    // ---- ExchangeTransport -------------------------------------------------------------------------------

    @Override
    public Channel channel() {
        return ctx.channel();
    }

    @Override
    public boolean zeroCopy() {
        return zeroCopy;
    }

    @Override
    public String protocol() {
        return currentRequest != null && currentRequest.protocolVersion() == HttpVersion.HTTP_1_0 ? "HTTP/1.0" : "HTTP/1.1";
    }

    @Override
    public void subscribeBody(BodySink s) {
        if (sink != null) {
            throw new IllegalStateException("request body already subscribed");
        }
        sink = s;
        if (bodyless) {
            s.onEnd(LastHttpContent.EMPTY_LAST_CONTENT);
            return;
        }
        if (expectContinue && !requestComplete) {
            expectContinue = false;
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
                    Unpooled.EMPTY_BUFFER));
        }
        if (bodyBuffer != null) {
            HttpContent c;
            while (sink == s && (c = bodyBuffer.poll()) != null) {
                bodyBuffered -= c.content().readableBytes();
                deliver(s, c);
            }
        }
        updateAutoRead();
    }

    /**
     * Back-pressure from the handler. The body timer stops while paused: the client is not slow, the
     * consumer is, and the consumer has timeouts of its own.
     */
    @Override
    public void pauseBody() {
        bodyPaused = true;
        if (phase == Phase.BODY) {
            armed = false;
        }
        updateAutoRead();
    }

    @Override
    public void resumeBody() {
        bodyPaused = false;
        if (phase == Phase.BODY && !requestComplete) {
            arm(Phase.BODY, bodyTimeoutNanos);
        }
        updateAutoRead();
    }

    @Override
    public void writeHead(HttpResponse head) {
        HttpHeaders h = head.headers();
        HttpRequest req = currentRequest;
        boolean close = closeAfterResponse || draining || !requestKeepAlive
                || h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE, true);
        if (!close && !requestComplete && sink == null && expectContinue) {
            // The client is waiting for 100-continue that will never come; it must not send the body now.
            close = true;
        }
        boolean bodyAllowed = req.method() != HttpMethod.HEAD && head.status().code() >= 200
                && head.status().code() != 204 && head.status().code() != 304;
        boolean framed = h.contains(HttpHeaderNames.CONTENT_LENGTH) || HttpUtil.isTransferEncodingChunked(head);
        if (req.protocolVersion() == HttpVersion.HTTP_1_0) {
            if (HttpUtil.isTransferEncodingChunked(head)) {
                h.remove(HttpHeaderNames.TRANSFER_ENCODING);
                close = true;
            } else if (!framed && bodyAllowed) {
                close = true;
            }
            if (!close) {
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
        } else if (!framed && bodyAllowed) {
            HttpUtil.setTransferEncodingChunked(head, true);
        }
        if (close) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            closeAfterResponse = true;
        }
        encoder.answeringHead(req.method() == HttpMethod.HEAD);
        heldHead = head;
    }

    /** Writes the head {@link #writeHead} holds, if any: something else goes out now. */
    private void writeHeldHead() {
        HttpResponse head = heldHead;
        if (head != null) {
            heldHead = null;
            ctx.write(head);
        }
    }

    @Override
    public void flush() {
        writeHeldHead();
        ctx.flush();
    }

    @Override
    public ChannelFuture write(Object content, boolean flush) {
        writeHeldHead();
        return flush ? ctx.writeAndFlush(content) : ctx.write(content);
    }

    @Override
    public ChannelFuture writeLast(Object last) {
        Exchange ex = current;
        Object out = last;
        HttpResponse head = heldHead;
        if (head != null && last instanceof LastHttpContent end) {
            // The whole response at once (a proxied small response, an error page, a fixed answer): one pass
            // through the encoder, which puts a small body in the head's buffer: one buffer, one write.
            heldHead = null;
            out = new DefaultFullHttpResponse(head.protocolVersion(), head.status(), end.content(), head.headers(),
                    end.trailingHeaders());
        } else {
            writeHeldHead();
        }
        ChannelFuture f = ctx.writeAndFlush(out);
        if (f.isDone()) {
            exchangeWritten(ex, f.isSuccess()); // usually so: the flush wrote it all; no listener to run
        } else {
            f.addListener(future -> exchangeWritten(ex, future.isSuccess()));
        }
        return f;
    }

    @Override
    public void abort() {
        closeAfterResponse = true;
        heldHead = null; // the client sees the connection close, not a head without its body
        closeConnection();
    }

    /**
     * Sends the 101 and hands the connection over to {@code handler}: the HTTP/1 handlers leave the pipeline, the
     * decoder last, so that the bytes it held back after the request reach the tunnel raw. This handler stays, to
     * pass events on, log the exchange when the tunnel closes, and turn a drain into {@code GOING_AWAY}.
     */
    @Override
    public Channel switchProtocols(FullHttpResponse head, io.netty.channel.ChannelHandler handler) {
        if (tunnel || !held || closing || draining || current == null || !pipelined.isEmpty()
                || !ctx.channel().isActive()) {
            return null;
        }
        held = false;
        tunnel = true;
        currentRequest = null; // its headers are not needed any more; the exchange keeps what it logs
        cancelTimer();
        encoder.answeringHead(false);
        ctx.writeAndFlush(head);
        io.netty.channel.ChannelPipeline p = ctx.pipeline();
        p.remove(encoder);
        if (p.get(CHUNKED_WRITER) != null) {
            p.remove(CHUNKED_WRITER); // nothing is queued in it: the previous response was complete
        }
        p.addLast(TUNNEL, handler);
        p.remove(decoder);
        ctx.channel().config().setAutoRead(true);
        current.tunnelOpened(listenerMetrics);
        return ctx.channel();
    }

    /** The client of this connection: one for all its requests. */
    private ClientPeer peer() {
        if (peer == null) {
            peer = new ClientPeer((InetSocketAddress) ctx.channel().remoteAddress());
        }
        return peer;
    }

    /** An HTTP/1.1 request that asks to switch protocols (RFC 9110 section 7.8: Upgrade, listed in Connection). */
    private static boolean asksToSwitch(HttpRequest req) {
        HttpHeaders h = req.headers();
        return req.protocolVersion() == HttpVersion.HTTP_1_1 && h.contains(HttpHeaderNames.UPGRADE)
                && h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Exchange ex = current;
        if (ex != null) {
            ex.writabilityChanged();
        }
        ctx.fireChannelWritabilityChanged();
    }

    // ---- completion ----------------------------------------------------------------------------------------

    private void exchangeWritten(Exchange ex, boolean success) {
        if (ex != current) {
            return;
        }
        exchangeOver(ex);
        if (!success || closeAfterResponse || draining) {
            current = null;
            if (success && (!requestComplete || lingerOnClose)) {
                closeAfterLinger();
            } else {
                closeConnection();
            }
            return;
        }
        if (!requestComplete) {
            // Nobody read the rest of the body: drop it as it arrives, then carry on with the next request.
            responseDone = true;
            if (sink != null) {
                sink = null;
            }
            releaseBuffered();
            arm(Phase.BODY, bodyTimeoutNanos);
            updateAutoRead();
            return;
        }
        afterExchange();
    }

    private void afterExchange() {
        current = null;
        responseDone = false;
        sink = null;
        releaseBuffered();
        if (held) {
            held = false;
            if (decoder.resume()) {
                // The client sent more after its upgrade request, which it must not before a 101: those bytes
                // may be the new protocol's, and are not read as HTTP requests.
                closeConnection();
                return;
            }
        }
        if (draining) {
            closeConnection();
            return;
        }
        if (decoder.isMidRequest()) {
            arm(Phase.HEAD, headTimeoutNanos);
        } else {
            arm(Phase.WAIT_REQUEST, keepAliveNanos);
        }
        processPipelined();
        updateAutoRead();
    }

    private void processPipelined() {
        if (processingPipelined) {
            return;
        }
        processingPipelined = true;
        try {
            for (;;) {
                while (!pipelined.isEmpty() && !closing && ctx.channel().isActive()
                        && (current == null || !requestComplete || responseDone)) {
                    onMessage(pipelined.poll());
                }
                if (!dispatchPending) {
                    break;
                }
                dispatchNow();
            }
        } finally {
            processingPipelined = false;
        }
    }

    /**
     * The exchange is over (callers pass it, even after clearing the field): logs it and tells its services'
     * tracker, once however it ended.
     */
    private void exchangeOver(Exchange ex) {
        if (currentLogged) {
            return;
        }
        currentLogged = true;
        ex.over(listenerMetrics);
    }

    private void closeConnection() {
        closing = true;
        ctx.close();
    }

    /** Shuts our side down, then drops what the client still sends until it closes or the linger ends. */
    private void closeAfterLinger() {
        closing = true;
        cancelTimer();
        Channel ch = ctx.channel();
        if (!(ch instanceof DuplexChannel duplex) || !ch.isActive()) {
            ctx.close();
            return;
        }
        duplex.shutdownOutput().addListener(f -> {
            if (!f.isSuccess() || !ch.isActive()) {
                ctx.close();
                return;
            }
            timer = ctx.executor().schedule(() -> {
                ctx.close();
            }, LINGER_NANOS, TimeUnit.NANOSECONDS);
            ch.config().setAutoRead(true);
        });
    }

    // ---- flow control ---------------------------------------------------------------------------------------

    private void updateAutoRead() {
        boolean read = pipelined.isEmpty() && !bodyPaused && bodyBuffered <= BODY_BUFFER_LIMIT && !held;
        var config = ctx.channel().config();
        if (config.isAutoRead() != read) {
            config.setAutoRead(read);
        }
    }

    private void releaseBuffered() {
        if (bodyBuffer != null) {
            HttpContent c;
            while ((c = bodyBuffer.poll()) != null) {
                c.release();
            }
        }
        bodyBuffered = 0;
        bodyPaused = false;
    }

    // ---- timers: one scheduled task per connection, re-armed lazily ---------------------------------------

    private void arm(Phase p, long timeoutNanos) {
        phase = p;
        deadline = LoopClock.nanoTime() + timeoutNanos;
        armed = true;
        if (timer == null) {
            schedule(timeoutNanos);
        }
    }

    private void schedule(long delayNanos) {
        timer = ctx.executor().schedule(timerTask, Math.min(delayNanos, timerSliceNanos), TimeUnit.NANOSECONDS);
    }

    private void touchBodyTimer() {
        if (phase == Phase.BODY) {
            deadline = LoopClock.nanoTime() + bodyTimeoutNanos;
        }
    }

    private void disarm(Phase p) {
        phase = p;
        armed = false;
    }

    private void cancelTimer() {
        armed = false;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void onTimer() {
        timer = null;
        if (!armed || !ctx.channel().isActive()) {
            return;
        }
        long now = System.nanoTime();
        if (now - deadline < 0) {
            schedule(deadline - now);
            return;
        }
        switch (phase) {
            case WAIT_REQUEST -> closeConnection();
            case HEAD -> {
                if (current == null) {
                    rejectMalformed(new Http1DecodeError(HttpResponseStatus.REQUEST_TIMEOUT,
                            "The request head was not received in time."));
                } else {
                    closeConnection();
                }
            }
            case BODY -> {
                if (current != null && !current.headSent()) {
                    failBody(HttpResponseStatus.REQUEST_TIMEOUT, "The request body was not received in time.");
                } else {
                    closeConnection();
                }
            }
            case PROCESSING -> { }
        }
    }

}
