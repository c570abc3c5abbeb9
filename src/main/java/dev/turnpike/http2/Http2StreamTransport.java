package dev.turnpike.http2;

import dev.turnpike.config.ListenerConfig;
import dev.turnpike.http.BodySink;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.ExchangeTransport;
import dev.turnpike.http.HttpServices;
import dev.turnpike.http.RequestBodyException;
import dev.turnpike.http.RequestTarget;
import dev.turnpike.http.TunnelEvent;
import dev.turnpike.metrics.ListenerMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelProgressiveFuture;
import io.netty.channel.ChannelProgressiveFutureListener;
import io.netty.channel.FileRegion;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.handler.stream.ChunkedInput;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * One HTTP/2 stream as an {@link Exchange}: the last handler of the stream's child channel. It validates the
 * request head, hands the body to the handler as it arrives, and turns the response into HEADERS and DATA
 * frames (trailers as a final HEADERS frame; a HEAD, 204 or 304 response ends with its HEADERS).
 *
 * <p>Back-pressure. Inbound: the child channel grants the client more window (WINDOW_UPDATE) only for bytes it
 * has delivered here while reading is on, so pausing the body (auto-read off) stops the grants, and a body
 * nobody has subscribed to yet is buffered up to {@value #BODY_BUFFER_LIMIT} bytes before reading stops.
 * Outbound: the child channel is unwritable while more than its high water mark is waiting for the client's
 * window or the socket, which is what {@link Exchange#isWritable()} reports to the handler.
 *
 * <p>Timeouts. A response that makes no progress for {@code http2.flow_control_timeout} (the client keeps its
 * window shut or stops reading) resets the stream; a request body that pauses longer than
 * {@code timeouts.request_body} (while the handler wants it) gets 408 or a reset.
 */
final class Http2StreamTransport extends ChannelInboundHandlerAdapter
        implements ExchangeTransport, ChannelFutureListener {
    private static final Logger LOG = LoggerFactory.getLogger(Http2StreamTransport.class);

    /** Body bytes buffered for a handler that has not subscribed yet before reading the stream pauses. */
    private static final int BODY_BUFFER_LIMIT = 64 * 1024;
    private static final String PROTOCOL = "HTTP/2.0";
    private static final String CHUNKED_WRITER = "chunked-writer";
    private static final String TUNNEL_FRAMES = "tunnel-frames";
    private static final String TUNNEL = "tunnel";
    /** How long a tunnel's stream, ended our way, waits for the client to end its side before it is reset. */
    static final long TUNNEL_END_TIMEOUT_SECONDS = 5;
    private static final AsciiString CONTINUE = HttpResponseStatus.CONTINUE.codeAsText();

    private final Supplier<HttpServices> services;
    private final ListenerConfig.Limits limits;
    private final String scheme;
    private final long bodyTimeoutNanos;
    private final long flowTimeoutNanos;

    private ChannelHandlerContext ctx;
    private ListenerMetrics listenerMetrics = ListenerMetrics.NONE;
    private Exchange current;
    /** Whether {@link #current} is over for the access log, metrics and its snapshot (exactly once). */
    private boolean over;
    /** Where this stream is in its connection's list of exchanges in flight, or -1. */
    int liveIndex = -1;
    private boolean headRequest;
    /** The request is an RFC 8441 extended CONNECT: only {@link #switchProtocols} may answer it with a 2xx. */
    private boolean extendedConnect;
    /** The client sent DATA before the answer to its extended CONNECT: the stream cannot become a tunnel. */
    private boolean earlyData;
    /** The stream switched protocols: its DATA frames carry a tunnel's bytes both ways (see {@link TunnelFrames}). */
    private boolean tunnel;
    private boolean goingAway;

    // request
    private boolean requestComplete;
    /** The handler sees no body (none announced): what the client still sends, if anything, is dropped. */
    private boolean bodyless;
    private boolean expectContinue;
    private boolean dispatchPending;
    private boolean resetByPeer;
    private BodySink sink;
    private ArrayDeque<HttpContent> bodyBuffer;
    private long bodyBuffered;
    private long bodyBytes;
    private boolean bodyPaused;

    // response
    private boolean endStreamSent;
    private ChannelFuture headFuture;
    private int pendingWrites;
    private long lastProgress;

    // timeouts, checked by the connection's sweep
    private final StreamTimers timers;
    /** Where this stream is in {@link StreamTimers}, or -1 when it is not watched. */
    int timerIndex = -1;
    private long bodyDeadline;
    private boolean bodyTimerOn;

    private final Http2ServerConnection connection;

    Http2StreamTransport(Supplier<HttpServices> services, ListenerConfig listener, String scheme,
                         Http2ServerConnection connection) {
        this.services = services;
        this.connection = connection;
        this.timers = connection.streamTimers();
        this.limits = listener.limits();
        this.scheme = scheme;
        this.bodyTimeoutNanos = listener.timeouts().requestBody().toNanos();
        this.flowTimeoutNanos = listener.http2().flowControlTimeout().toNanos();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.listenerMetrics = ListenerMetrics.of(ctx.channel().parent());
    }

    // ---- inbound ---------------------------------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (resetByPeer) {
            ReferenceCountUtil.release(msg);
        } else if (tunnel) {
            tunnelRead(msg);
        } else if (msg instanceof Http2HeadersFrame headers) {
            onHeaders(headers);
        } else if (msg instanceof Http2DataFrame data) {
            onData(data);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (dispatchPending) {
            dispatchPending = false;
            dispatch();
        }
        ctx.fireChannelReadComplete();
    }

    /**
     * A frame from the client on a tunnel: DATA goes on as its bytes, and END_STREAM (the client will send no more,
     * as a TCP FIN would say on HTTP/1.1; RFC 8441 section 5) as {@link ChannelInputShutdownEvent}. The window for
     * the bytes is returned by the stream channel as they are read, so a tunnel that stops reading (auto-read off)
     * holds the client to the stream's window.
     */
    private void tunnelRead(Object msg) {
        boolean end = msg instanceof Http2StreamFrame f && isEndStream(f);
        if (msg instanceof Http2DataFrame data && data.content().isReadable()) {
            ctx.fireChannelRead(data.content());
        } else {
            ReferenceCountUtil.release(msg); // empty DATA, or trailers: nothing for the tunnel
        }
        if (end) {
            ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        }
    }

    private static boolean isEndStream(Http2StreamFrame f) {
        return f instanceof Http2DataFrame d ? d.isEndStream() : f instanceof Http2HeadersFrame h && h.isEndStream();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof Http2ResetFrame reset) {
            // The client cancelled the stream. The codec closes it right after this, and the channel follows once
            // its queued frames are read: reading goes on (dropping them) so that happens even if the body was
            // paused. Closing the channel here instead would answer the reset with one, which RFC 9113 forbids.
            LOG.debug("stream {} reset by the client: {}", streamId(), reset.errorCode());
            resetByPeer = true;
            releaseBuffered(); // the handler hears of it when the channel closes (BodySink.onError, onAbort)
            ctx.channel().config().setAutoRead(true);
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("stream {} failed: {}", streamId(), cause.toString());
        if (tunnel) {
            ctx.fireExceptionCaught(cause); // the tunnel decides how its two sides end
            return;
        }
        if (!(cause instanceof Http2Exception)) {
            ctx.close();
        }
        // A stream error the codec found (content-length against DATA …): the multiplexer resets the stream
        // with the error's code right after this.
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        timers.unwatch(this);
        Exchange ex = current;
        BodySink s = sink;
        sink = null;
        dispatchPending = false;
        releaseBuffered();
        if (s != null && !requestComplete) {
            s.onError(new ClosedChannelException());
        }
        if (tunnel) {
            ctx.fireChannelInactive(); // the tunnel hears of it first, so that its byte counts are in the access log
            if (ex != null) {
                exchangeOver(ex);
            }
            return;
        }
        if (ex != null) {
            if (!ex.isFinished()) {
                ex.transportClosed();
            }
            exchangeOver(ex);
        }
        ctx.fireChannelInactive();
    }

    private void onHeaders(Http2HeadersFrame frame) {
        if (current == null) {
            startExchange(frame.headers(), frame.isEndStream());
            return;
        }
        // Trailers: they end the stream and carry no pseudo-header (RFC 9113 section 8.1).
        Http2Headers h = frame.headers();
        if (!frame.isEndStream() || hasPseudoHeader(h)) {
            reset(Http2Error.PROTOCOL_ERROR, "malformed trailers");
            return;
        }
        LastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
        try {
            HttpConversionUtil.addHttp2ToHttpHeaders(streamId(), h, last.trailingHeaders(), HttpVersion.HTTP_1_1,
                    true, true);
        } catch (Http2Exception e) {
            reset(Http2Error.PROTOCOL_ERROR, e.getMessage());
            return;
        }
        onBody(last);
    }

    private void onData(Http2DataFrame frame) {
        ByteBuf content = frame.content();
        listenerMetrics.requestBodyBytes(content.readableBytes());
        if (extendedConnect && content.isReadable()) {
            earlyData = true; // RFC 8441: nothing before the 200; not read as a body, and no tunnel may lose it
        }
        if (current == null || requestComplete) {
            content.release(); // not possible through the codec: DATA before HEADERS or after END_STREAM
            return;
        }
        if (content.isReadable()) {
            onBody(new DefaultHttpContent(content));
        } else {
            content.release();
        }
        if (frame.isEndStream() && ctx.channel().isActive()) {
            // As the HTTP/1.1 decoder does: bytes in content parts, the end empty (or with trailers).
            onBody(LastHttpContent.EMPTY_LAST_CONTENT);
        }
    }

    private void startExchange(Http2Headers h, boolean endStream) {
        String problem = Http2Requests.malformed(h);
        HttpRequest req = null;
        if (problem == null) {
            try {
                req = Http2Requests.toHttpRequest(streamId(), h, endStream);
            } catch (Http2Exception e) {
                problem = e.getMessage();
            }
        }
        if (problem != null) {
            reset(Http2Error.PROTOCOL_ERROR, problem);
            return;
        }
        HttpServices svc = services.get();
        boolean hasBody = HttpUtil.isTransferEncodingChunked(req) || HttpUtil.getContentLength(req, 0L) > 0;
        requestComplete = endStream;
        bodyless = !hasBody;
        headRequest = req.method() == HttpMethod.HEAD;
        extendedConnect = req.method() == HttpMethod.CONNECT
                && h.contains(Http2Headers.PseudoHeaderName.PROTOCOL.value());
        boolean connect = req.method() == HttpMethod.CONNECT && !extendedConnect;
        RequestTarget target = connect ? null : RequestTarget.parse(req.uri());
        CharSequence authority = h.authority();
        Channel parent = ctx.channel().parent();
        Exchange ex = new Exchange(this, svc, req, target != null ? target : new RequestTarget("/", null, null),
                RequestTarget.hostOf(authority != null ? authority.toString() : req.headers().get(HttpHeaderNames.HOST)),
                scheme, connection.peer(), (InetSocketAddress) parent.localAddress());
        current = ex;
        svc.tracker().started(ex);
        connection.started(this);
        if (!endStream && !extendedConnect) {
            armBodyTimer(); // an extended CONNECT's stream stays open without a body: the handler times its wait
        }
        try {
            if (connect || req.method() == HttpMethod.TRACE) {
                FullHttpResponse r = svc.errors().build(ex, HttpResponseStatus.METHOD_NOT_ALLOWED,
                        req.method().name() + " is not served here.");
                r.headers().set(HttpHeaderNames.ALLOW, Exchange.ALLOWED_METHODS);
                ex.respond(r);
                return;
            }
            if (target == null) {
                ex.sendError(HttpResponseStatus.BAD_REQUEST, "The request target is malformed.");
                return;
            }
            if (extendedConnect && !HttpHeaderValues.WEBSOCKET.contentEqualsIgnoreCase(
                    h.get(Http2Headers.PseudoHeaderName.PROTOCOL.value()))) {
                ex.sendError(HttpResponseStatus.NOT_IMPLEMENTED, "Only WebSockets are served over extended CONNECT.");
                return;
            }
            if (regularFields(h) > limits.maxHeaderCount()) {
                ex.sendError(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                        "The request has more than " + limits.maxHeaderCount() + " header fields.");
                return;
            }
            String expect = req.headers().get(HttpHeaderNames.EXPECT);
            if (expect != null) {
                if (expect.equalsIgnoreCase("100-continue")) {
                    expectContinue = hasBody && !endStream;
                } else {
                    ex.sendError(HttpResponseStatus.EXPECTATION_FAILED, "Only 100-continue is supported.");
                    return;
                }
            }
            if (limits.maxBodySize() > 0 && HttpUtil.getContentLength(req, 0L) > limits.maxBodySize()) {
                ex.sendError(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                        "The request body is larger than " + limits.maxBodySize() + " bytes.");
                return;
            }
            if (target.path().equals("*")) {
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.EMPTY_BUFFER);
                r.headers().set(HttpHeaderNames.ALLOW, Exchange.ALLOWED_METHODS);
                ex.respond(r);
                return;
            }
            if (hasBody && !endStream) {
                // As on HTTP/1.1: dispatched once the frames read with the head are processed, so a body that
                // breaks a rule in the same read is rejected before any handler (or upstream) sees the request.
                dispatchPending = true;
                return;
            }
            svc.dispatcher().dispatch(ex);
        } catch (Throwable t) {
            handlerFailed(ex, t);
        }
    }

    private void dispatch() {
        Exchange ex = current;
        if (ex == null || ex.isFinished()) {
            return;
        }
        try {
            ex.services().dispatcher().dispatch(ex);
        } catch (Throwable t) {
            handlerFailed(ex, t);
        }
    }

    private static void handlerFailed(Exchange ex, Throwable t) {
        LOG.error("handler failed for {} {}", ex.method(), ex.request().uri(), t);
        if (!ex.isFinished()) {
            ex.sendError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "The server failed to handle the request.");
        }
    }

    private void onBody(HttpContent c) {
        boolean last = c instanceof LastHttpContent;
        bodyBytes += c.content().readableBytes();
        if (last) {
            requestComplete = true;
            bodyTimerOn = false;
        } else {
            bodyDeadline = System.nanoTime() + bodyTimeoutNanos;
        }
        if (limits.maxBodySize() > 0 && bodyBytes > limits.maxBodySize()) {
            c.release();
            failBody(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                    "The request body is larger than " + limits.maxBodySize() + " bytes.");
            return;
        }
        if (bodyless || current.isFinished()) {
            c.release(); // nobody reads it: dropped as it arrives
            return;
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

    /** The body cannot be completed: tell the handler, and answer if nothing was sent yet. */
    private void failBody(HttpResponseStatus status, String reason) {
        Exchange ex = current;
        BodySink s = sink;
        sink = null;
        dispatchPending = false;
        bodyTimerOn = false;
        releaseBuffered();
        if (s != null) {
            s.onError(new RequestBodyException(status, reason));
        }
        if (ex != null && !ex.isFinished() && !ex.headSent()) {
            ex.sendError(status, reason);
        } else {
            reset(Http2Error.CANCEL, reason);
        }
    }

    private static void deliver(BodySink s, HttpContent c) {
        if (c instanceof LastHttpContent last) {
            s.onEnd(last);
        } else {
            s.onContent(c);
        }
    }

    private static boolean hasPseudoHeader(Http2Headers h) {
        return regularFields(h) != h.size();
    }

    private static int regularFields(Http2Headers h) {
        int n = 0;
        for (var e : h) {
            CharSequence name = e.getKey();
            if (name.length() == 0 || name.charAt(0) != ':') {
                n++;
            }
        }
        return n;
    }

    // ---- ExchangeTransport -------------------------------------------------------------------------------------

    @Override
    public Channel channel() {
        return ctx.channel();
    }

    @Override
    public boolean zeroCopy() {
        return false; // DATA frames are framed in user space
    }

    @Override
    public String protocol() {
        return PROTOCOL;
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
            ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status(CONTINUE), false));
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

    /** The handler cannot take more: no more reads, hence no more window for the client, until it resumes. */
    @Override
    public void pauseBody() {
        bodyPaused = true;
        bodyTimerOn = false; // the consumer is slow, not the client
        updateAutoRead();
    }

    @Override
    public void resumeBody() {
        bodyPaused = false;
        if (!requestComplete && current != null) {
            armBodyTimer();
        }
        updateAutoRead();
    }

    @Override
    public void writeHead(HttpResponse head) {
        int code = head.status().code();
        if (extendedConnect && code / 100 == 2) {
            // RFC 8441 section 5: a 2xx opens the tunnel, which only switchProtocols does. A handler that answers
            // with content instead (a fixed response on a route without WebSockets) must not look like one.
            LOG.debug("stream {}: {} to an extended CONNECT sent as 501", streamId(), code);
            head.setStatus(HttpResponseStatus.NOT_IMPLEMENTED);
            code = HttpResponseStatus.NOT_IMPLEMENTED.code();
        }
        Http2Headers h = HttpConversionUtil.toHttp2Headers(head, false); // drops connection-specific fields
        boolean body = !headRequest && code != 204 && code != 304;
        if (!body) {
            endStreamSent = true;
        }
        headFuture = track(ctx.write(new DefaultHttp2HeadersFrame(h, !body)));
    }

    @Override
    public ChannelFuture write(Object content, boolean flush) {
        Object frame = toFrame(content);
        if (frame == null) {
            return ctx.newSucceededFuture();
        }
        ChannelFuture f;
        if (frame instanceof ChunkedInput<?> input) {
            if (ctx.pipeline().get(CHUNKED_WRITER) == null) {
                // Only streams that send files need it; every other write would pay for its queue.
                ctx.pipeline().addBefore(ctx.name(), CHUNKED_WRITER, new ChunkedWriteHandler());
            }
            f = ctx.write(input, ctx.newProgressivePromise().addListener(fileProgress));
            if (flush) {
                ctx.flush();
            }
        } else {
            f = flush ? ctx.writeAndFlush(frame) : ctx.write(frame);
        }
        return track(f);
    }

    /** A body part as what the stream channel writes: a DATA frame, a ChunkedInput of them, or null for nothing. */
    private Object toFrame(Object content) {
        if (endStreamSent) {
            ReferenceCountUtil.release(content);
            return null;
        }
        ByteBuf buf;
        if (content instanceof ByteBuf b) {
            buf = b;
        } else if (content instanceof ByteBufHolder holder) {
            buf = holder.content(); // an HttpContent; trailers only go with the last part
        } else if (content instanceof ChunkedInput<?> input) {
            return new DataFrameChunkedInput(input);
        } else if (content instanceof FileRegion region) {
            region.release();
            throw new IllegalStateException("a FileRegion cannot be sent on HTTP/2 (zeroCopy() is false)");
        } else {
            ReferenceCountUtil.release(content);
            throw new IllegalArgumentException("unsupported body part: " + content.getClass().getName());
        }
        if (!buf.isReadable()) {
            buf.release();
            return null;
        }
        return new DefaultHttp2DataFrame(buf, false);
    }

    @Override
    public void flush() {
        ctx.flush();
    }

    @Override
    public ChannelFuture writeLast(Object last) {
        Exchange ex = current;
        ChannelFuture f;
        if (endStreamSent) {
            ReferenceCountUtil.release(last);
            ctx.flush();
            f = headFuture != null ? headFuture : ctx.newSucceededFuture();
        } else {
            endStreamSent = true;
            ByteBuf content = last instanceof ByteBufHolder holder ? holder.content()
                    : last instanceof ByteBuf b ? b : Unpooled.EMPTY_BUFFER;
            if (last instanceof LastHttpContent l && !l.trailingHeaders().isEmpty()) {
                if (content.isReadable()) {
                    track(ctx.write(new DefaultHttp2DataFrame(content, false)));
                } else {
                    content.release();
                }
                f = ctx.writeAndFlush(new DefaultHttp2HeadersFrame(
                        HttpConversionUtil.toHttp2Headers(l.trailingHeaders(), false), true));
            } else {
                // An empty DATA frame with END_STREAM is how a body ends when the last part has no bytes.
                f = ctx.writeAndFlush(new DefaultHttp2DataFrame(content, true));
            }
            track(f);
        }
        f.addListener((ChannelFutureListener) future -> exchangeWritten(ex, future.isSuccess()));
        return f;
    }

    /**
     * The response cannot be completed: the client sees the stream reset. CANCEL rather than INTERNAL_ERROR:
     * resets with other codes count against the client as provoked ones (max_resets), and a failing upstream
     * must not cost an honest client its connection.
     */
    @Override
    public void abort() {
        reset(Http2Error.CANCEL, "response aborted");
    }

    /**
     * RFC 8441: an extended CONNECT's stream becomes a tunnel. {@code head} (a 101 in its HTTP/1.1 form) is sent as
     * HEADERS {@code :status 200} without END_STREAM, minus what only HTTP/1.1's upgrade has (Upgrade, Connection,
     * Sec-WebSocket-Accept); the subprotocol and extensions stay. From then on {@link TunnelFrames} turns the
     * tunnel's bytes into DATA frames and its close into END_STREAM, and {@link #tunnelRead} the client's DATA into
     * bytes. Request and response timeouts stop; the tunnel has its own. Returns null (nothing sent) for any other
     * request, when the client already sent DATA or ended its side, or when the stream or connection is ending.
     */
    @Override
    public Channel switchProtocols(FullHttpResponse head, ChannelHandler handler) {
        if (!extendedConnect || tunnel || earlyData || requestComplete || resetByPeer || endStreamSent
                || headFuture != null || current == null || connection.isClosing() || !ctx.channel().isActive()) {
            return null;
        }
        Http2Headers h = HttpConversionUtil.toHttp2Headers(head, false); // drops Upgrade and Connection
        h.status(HttpResponseStatus.OK.codeAsText());
        h.remove(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT);
        tunnel = true;
        bodyTimerOn = false;
        dispatchPending = false;
        timers.unwatch(this);
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(h, false));
        ChannelPipeline p = ctx.pipeline();
        p.addLast(TUNNEL_FRAMES, new TunnelFrames());
        p.addLast(TUNNEL, handler);
        ctx.channel().config().setAutoRead(true);
        current.tunnelOpened(listenerMetrics); // the access log entry follows when the tunnel ends
        return ctx.channel();
    }

    /**
     * Between the tunnel and this transport once switched: the tunnel's bytes become DATA frames, and its close
     * becomes END_STREAM while the stream is open our way (a clean end, RFC 8441 section 5: what closing TCP is on
     * HTTP/1.1); the channel then closes once the client ends its side too. A close after that, or on a stream
     * already ended our way, goes through: the stream channel resets it (CANCEL) unless both sides have ended.
     */
    private final class TunnelFrames extends ChannelOutboundHandlerAdapter {
        @Override
        public void write(ChannelHandlerContext c, Object msg, ChannelPromise promise) {
            if (msg instanceof ByteBuf buf) {
                if (endStreamSent || !buf.isReadable()) {
                    buf.release();
                    promise.trySuccess();
                    return;
                }
                c.write(new DefaultHttp2DataFrame(buf, false), promise);
                return;
            }
            c.write(msg, promise);
        }

        @Override
        public void close(ChannelHandlerContext c, ChannelPromise promise) {
            if (endStreamSent || !c.channel().isActive()) {
                c.close(promise);
                return;
            }
            endStreamSent = true;
            c.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true));
            c.channel().closeFuture().addListener(f -> promise.trySuccess());
            // The client ends its side in reply; one that does not has its stream reset, as TCP would be closed.
            var wait = c.executor().schedule(() -> {
                c.close();
            }, TUNNEL_END_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            c.channel().closeFuture().addListener(f -> wait.cancel(false));
        }
    }

    /**
     * Shutdown or a reload's grace period: a tunnel is told to end gracefully ({@link TunnelEvent#GOING_AWAY}: a
     * WebSocket sends close frames with 1001 both ways); returns whether this stream is a tunnel.
     */
    boolean goAway() {
        if (!tunnel) {
            return false;
        }
        if (!goingAway && ctx.channel().isActive()) {
            goingAway = true;
            ctx.fireUserEventTriggered(TunnelEvent.GOING_AWAY);
        }
        return true;
    }


    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Exchange ex = current;
        if (ex != null) {
            ex.writabilityChanged();
        }
        ctx.fireChannelWritabilityChanged();
    }

    // ---- completion -------------------------------------------------------------------------------------------

    private void exchangeWritten(Exchange ex, boolean success) {
        if (ex != current) {
            return;
        }
        exchangeOver(ex);
        if (!success || !ctx.channel().isActive()) {
            ctx.close();
            return;
        }
        if (!requestComplete) {
            // The response is complete while the client is still sending: it is asked to stop without an error
            // (RFC 9113 section 8.1), which also frees the stream's slot.
            bodyTimerOn = false;
            sink = null;
            releaseBuffered();
            reset(Http2Error.NO_ERROR, null);
        }
        // Otherwise both sides have ended the stream: the codec closes it, and with it this channel.
    }

    /**
     * The exchange is over (answered, aborted, or its stream gone): metrics, access log, and its snapshot's and
     * connection's count of exchanges in flight, once however it ended.
     */
    private void exchangeOver(Exchange ex) {
        if (over) {
            return;
        }
        over = true;
        connection.ended(this);
        ex.over(listenerMetrics);
    }

    /** Aborts the exchange in flight if {@code test} accepts it; returns whether it did. On the event loop. */
    boolean abortExchangeIf(Predicate<Exchange> test) {
        Exchange ex = current;
        if (tunnel) {
            // As on HTTP/1.1: a WebSocket ends with a close handshake, and its client reconnects under the new config.
            return ex != null && !goingAway && test.test(ex) && goAway();
        }
        if (ex != null && !ex.isFinished() && test.test(ex)) {
            ex.abort();
            return true;
        }
        return false;
    }

    /** Ends the stream with RST_STREAM {@code error}; the codec closes it and this channel follows. */
    private void reset(Http2Error error, String why) {
        if (why != null) {
            LOG.debug("resetting stream {} ({}): {}", streamId(), error, why);
        }
        if (ctx.channel().isActive()) {
            ctx.writeAndFlush(new DefaultHttp2ResetFrame(error));
        }
        ctx.close();
    }

    private int streamId() {
        return ((Http2StreamChannel) ctx.channel()).stream().id();
    }

    // ---- flow control ----------------------------------------------------------------------------------------

    private void updateAutoRead() {
        boolean read = !bodyPaused && bodyBuffered <= BODY_BUFFER_LIMIT;
        var config = ctx.channel().config();
        if (config.isAutoRead() != read) {
            config.setAutoRead(read); // on again: reads what is queued, and grants the client the window
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

    /** Counts a write until it completes: a write that stays pending past the timeout means a stalled client. */
    private ChannelFuture track(ChannelFuture f) {
        if (!f.isDone()) {
            if (pendingWrites++ == 0) {
                lastProgress = System.nanoTime();
                timers.watch(this, ctx.executor());
            }
            f.addListener(this);
        }
        return f;
    }

    @Override
    public void operationComplete(ChannelFuture future) {
        pendingWrites--;
        lastProgress = System.nanoTime();
    }

    /** A file goes out chunk by chunk under one promise: each chunk written is progress. */
    private final ChannelProgressiveFutureListener fileProgress = new ChannelProgressiveFutureListener() {
        @Override
        public void operationProgressed(ChannelProgressiveFuture future, long progress, long total) {
            lastProgress = System.nanoTime();
        }

        @Override
        public void operationComplete(ChannelProgressiveFuture future) {
        }
    };

    // ---- timeouts -----------------------------------------------------------------------------------------------

    private void armBodyTimer() {
        bodyTimerOn = true;
        bodyDeadline = System.nanoTime() + bodyTimeoutNanos;
        timers.watch(this, ctx.executor());
    }

    /**
     * Called by the connection's sweep: acts on an expired timeout; returns whether the stream still has
     * something to time.
     */
    boolean checkTimeouts(long now) {
        if (!ctx.channel().isActive() || tunnel) {
            return false;
        }
        boolean timing = false;
        if (pendingWrites > 0) {
            if (now - (lastProgress + flowTimeoutNanos) >= 0) {
                LOG.debug("stream {}: the client took nothing for {} ms", streamId(),
                        TimeUnit.NANOSECONDS.toMillis(flowTimeoutNanos));
                Exchange ex = current;
                if (ex != null && !ex.isFinished()) {
                    ex.abort();
                } else {
                    reset(Http2Error.CANCEL, null);
                }
                return false;
            }
            timing = true;
        }
        if (bodyTimerOn && !bodyPaused && !requestComplete) {
            if (now - bodyDeadline >= 0) {
                failBody(HttpResponseStatus.REQUEST_TIMEOUT, "The request body was not received in time.");
                return false;
            }
            timing = true;
        }
        return timing;
    }
}
