package dev.turnpike.websocket;

import dev.turnpike.http.Exchange;
import dev.turnpike.http.TunnelEvent;
import dev.turnpike.upstream.UpstreamConnection;
import dev.turnpike.upstream.lb.EndpointState;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.Utf8FrameValidator;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * One WebSocket after its handshake: joins the client's tunnel (the channel {@code Exchange.switchProtocols}
 * returned, raw bytes both ways) to the upstream connection (its HTTP codec removed). It is the last handler of the
 * client's pipeline and the listener of the {@link UpstreamConnection}; everything runs on the client's event loop,
 * which is also the upstream connection's.
 *
 * <p><b>Frames pass unmodified</b> by default: each side's bytes are written to the other as they are read, and
 * {@link FrameBoundaries} follows them (header lengths only) so that a close frame can be put in between two frames
 * when Turnpike itself has to end the connection. With {@code inspect}, the client's frames are decoded with Netty's
 * {@link WebSocket08FrameDecoder} (frame size, UTF-8 of text, the message size counted here) and re-encoded, masked,
 * towards the upstream with {@link WebSocket08FrameEncoder}; the upstream's frames still pass raw.
 *
 * <p><b>Back-pressure</b>: a side that cannot take more (not writable) stops the reads of the other (autoRead) until
 * it drains, so memory per connection is bounded by the two write buffers and one read.
 *
 * <p><b>Ending</b>: close frames the endpoints send are passed on; a leg on which both close frames have gone by is
 * closed by Turnpike. When Turnpike ends a connection itself it sends close frames with a code, at a frame boundary:
 * 1001 both ways on the idle timeout and on shutdown ({@link TunnelEvent#GOING_AWAY}); 1012 (service restart) to
 * the client when the upstream closed without a close frame, 1011 when it failed; 1001 to the upstream when the
 * client went away without one; the decoder's code (1009 too big, 1002, 1007) to a client that broke a rule under
 * inspection. Then it waits at most {@link #CLOSE_TIMEOUT_NANOS} for the replies before closing TCP. A side that went
 * away in the middle of a frame cannot get a clean close frame on the other: that side is simply closed.
 */
public final class WebSocketSplice extends ChannelInboundHandlerAdapter implements UpstreamConnection.Listener,
        Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(WebSocketSplice.class);

    /** How long the replies to the close frames Turnpike sent are awaited before TCP is closed. */
    static final long CLOSE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private static final String DECODER = "ws-decoder";
    private static final String UTF8 = "ws-utf8";
    private static final String ENCODER = "ws-encoder";

    /**
     * What a route sets; immutable and shared.
     *
     * @param inspect          decode the client's frames (see the class comment)
     * @param maxFrameSize     the largest frame payload a client may send (inspect only)
     * @param maxMessageSize   the largest message a client may send, all fragments together (inspect only)
     * @param idleTimeoutNanos no byte either way for this long ends the connection
     */
    public record Settings(boolean inspect, int maxFrameSize, long maxMessageSize, long idleTimeoutNanos) {}

    private final Settings settings;
    private final UpstreamConnection upstream;
    private final Channel up;
    private final Exchange exchange;
    private final WebSocketRoute.Lease lease;
    /** The upstream endpoint whose long-lived connection count this holds, or null (the URL form). */
    private EndpointState endpoint;
    /** What the upstream sends, as far as it was read. */
    private final FrameBoundaries fromUpstream = new FrameBoundaries();
    /** What the client sends (raw mode); null when the client's frames are decoded. */
    private final FrameBoundaries fromClient;

    private ChannelHandlerContext client;
    /** Upstream bytes read before the client's side was ready (the rest of the read that carried the 101). */
    private ArrayDeque<ByteBuf> early;
    private boolean started;
    private boolean abandoned;

    /** Bytes of the client's current message (inspect only). */
    private long messageBytes;
    private long lastRead = System.nanoTime();
    /** When the close replies stop being awaited; 0 while the connection is not closing. */
    private long closeDeadline;
    private long timerAt;
    private ScheduledFuture<?> timer;

    /** A close frame waiting for the end of the frame being passed to that side; 0 when none. */
    private int pendingToClient;
    private int pendingToUpstream;
    private boolean closeToClient;     // a close frame went to the client (passed on, or Turnpike's)
    private boolean closeToUpstream;
    private boolean closeFromClient;   // the client sent its close frame
    private boolean closeFromUpstream;
    private boolean clientGone;
    private boolean upstreamGone;
    private boolean clientClosing;     // Turnpike closes the client's TCP (after what was written)
    private boolean upstreamClosing;
    private boolean clientFlush;
    private boolean upstreamFlush;
    /** The client broke a rule: its connection is failed (closed right after the close frame, no reply read). */
    private boolean clientFailed;
    private boolean ended;

    /**
     * @param upstream the upstream connection, already answered 101 and without its HTTP codec; this splice becomes
     *                 its listener
     * @param lease    the route's connection slot, released when the splice ends
     */
    public WebSocketSplice(Settings settings, UpstreamConnection upstream, Exchange exchange,
                           WebSocketRoute.Lease lease) {
        this.settings = settings;
        this.upstream = upstream;
        this.up = upstream.channel();
        this.exchange = exchange;
        this.lease = lease;
        this.fromClient = settings.inspect() ? null : new FrameBoundaries();
        upstream.attach(this);
        up.config().setAutoRead(true);
        if (settings.inspect()) {
            up.pipeline().addLast(ENCODER, new WebSocket08FrameEncoder(true));
        }
    }

    /** Counts the connection as long-lived load on {@code e} until it ends (least_connections sees it). */
    public void holdEndpoint(EndpointState e) {
        if (e != null && !ended) {
            endpoint = e;
            e.onConnectionOpen();
        }
    }

    /** The client's side could not switch: nothing was spliced, the upstream connection is closed. */
    public void abandon() {
        abandoned = true;
        releaseEarly();
        upstream.close();
        end();
    }

    // ---- client side (this handler is last in the tunnel's pipeline) -------------------------------------------

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        client = ctx;
        if (settings.inspect()) {
            ChannelPipeline p = ctx.pipeline();
            WebSocketDecoderConfig config = WebSocketDecoderConfig.newBuilder()
                    .maxFramePayloadLength(settings.maxFrameSize())
                    .expectMaskedFrames(true)
                    .allowMaskMismatch(false)
                    .allowExtensions(true) // permessage-deflate sets RSV1; payloads are not looked into
                    .closeOnProtocolViolation(false) // this splice closes both sides, with the decoder's code
                    .build();
            p.addBefore(ctx.name(), DECODER, new WebSocket08FrameDecoder(config));
            p.addBefore(ctx.name(), UTF8, new Utf8FrameValidator(false));
            p.addBefore(ctx.name(), ENCODER, new WebSocket08FrameEncoder(false));
        }
        started = true;
        if (early != null) {
            ByteBuf b;
            while ((b = early.poll()) != null) {
                fromUpstream(b);
            }
            early = null;
            flushClient();
        }
        arm(settings.idleTimeoutNanos());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lastRead = System.nanoTime();
        if (msg instanceof ByteBuf buf && fromClient != null) {
            fromClientRaw(buf);
        } else if (msg instanceof WebSocketFrame frame && fromClient == null) {
            fromClientFrame(frame);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (upstreamFlush) {
            upstreamFlush = false;
            up.flush();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        updateReading();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == TunnelEvent.GOING_AWAY) {
            endBoth(WebSocketCloseStatus.ENDPOINT_UNAVAILABLE.code(), "server shutting down");
        } else if (evt instanceof ChannelInputShutdownEvent) {
            clientEnded();
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof CorruptedWebSocketFrameException bad) {
            // A rule of RFC 6455 or a limit (only with inspection): the client gets the decoder's code.
            LOG.debug("WebSocket from {} broke a rule: {}", ctx.channel().remoteAddress(), bad.getMessage());
            violation(bad.closeStatus().code(), bad.closeStatus().reasonText());
            return;
        }
        // A broken TLS record reaches here wrapped in a DecoderException: a client problem, like an I/O error.
        if (!(cause instanceof java.io.IOException) && !(cause.getCause() instanceof javax.net.ssl.SSLException)) {
            LOG.warn("closing WebSocket from {} after an unexpected error", ctx.channel().remoteAddress(), cause);
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        clientGone = true;
        if (upstreamGone || abandoned) {
            end();
            return;
        }
        if (!closeToUpstream) {
            sendCloseToUpstream(WebSocketCloseStatus.ENDPOINT_UNAVAILABLE.code(), "client went away");
        }
        startClosing();
        closeLegsDone();
    }

    /**
     * The client will send nothing more but still reads: HTTP/2's END_STREAM (RFC 8441 section 5 puts it where TCP's
     * FIN is). After its close frame that ends its side of the close handshake; without one, the upstream is told
     * the client went away, as when its connection closes, and the upstream's reply still reaches the client.
     */
    private void clientEnded() {
        if (closeFromClient || ended) {
            return;
        }
        closeFromClient = true;
        if (fromClient != null && !fromClient.atBoundary() && !closeToUpstream) {
            closeUpstream(); // the frame half-sent upstream will never end: no clean close is possible
        } else {
            sendCloseToUpstream(WebSocketCloseStatus.ENDPOINT_UNAVAILABLE.code(), "client went away");
        }
        startClosing();
        closeLegsDone();
    }

    private void fromClientRaw(ByteBuf buf) {
        int from = buf.readerIndex();
        int length = buf.readableBytes();
        if (upstreamGone || closeToUpstream || clientClosing) {
            // Nothing more goes upstream; the bytes are only followed, to see the client's close frame.
            fromClient.follow(buf, from, length, false);
            buf.release();
        } else if (pendingToUpstream != 0) {
            int n = fromClient.follow(buf, from, length, true);
            if (n > 0) {
                toUpstream(buf.retainedSlice(from, n));
            }
            if (fromClient.closeSeen()) {
                closeToUpstream = true; // the frame that ended was the client's own close: nothing to add
                pendingToUpstream = 0;
            } else if (fromClient.atBoundary()) {
                int code = pendingToUpstream;
                pendingToUpstream = 0;
                writeCloseToUpstream(code, reasonOf(code));
            }
            if (n < length) {
                fromClient.follow(buf, from + n, length - n, false);
            }
            buf.release();
        } else {
            fromClient.follow(buf, from, length, false);
            toUpstream(buf);
            if (fromClient.closeSeen()) {
                closeToUpstream = true;
            }
        }
        if (fromClient.closeSeen() && !closeFromClient) {
            closeFromClient = true;
            closeLegsDone();
        }
    }

    private void fromClientFrame(WebSocketFrame frame) {
        boolean close = frame instanceof CloseWebSocketFrame;
        if (upstreamGone || closeToUpstream || clientClosing) {
            frame.release();
        } else {
            if (frame instanceof TextWebSocketFrame || frame instanceof BinaryWebSocketFrame) {
                messageBytes = frame.content().readableBytes();
            } else if (frame instanceof ContinuationWebSocketFrame) {
                messageBytes += frame.content().readableBytes();
            }
            if (messageBytes > settings.maxMessageSize()) {
                frame.release();
                LOG.debug("WebSocket from {}: message over {} bytes", client.channel().remoteAddress(),
                        settings.maxMessageSize());
                violation(WebSocketCloseStatus.MESSAGE_TOO_BIG.code(), "message too big");
                return;
            }
            toUpstream(frame);
            if (close) {
                closeToUpstream = true;
            }
        }
        if (close && !closeFromClient) {
            closeFromClient = true;
            closeLegsDone();
        }
    }

    /**
     * The client broke a rule (inspection): its connection is failed (RFC 6455 section 7.1.7): it gets a close frame
     * with {@code code}, then TCP is closed without waiting for its reply, which the decoder could not read any more.
     * The upstream gets 1001 and the usual close handshake.
     */
    private void violation(int code, String reason) {
        clientFailed = true;
        sendCloseToClient(code, reason);
        sendCloseToUpstream(WebSocketCloseStatus.ENDPOINT_UNAVAILABLE.code(), "client went away");
        startClosing();
        closeLegsDone();
    }

    // ---- upstream side (UpstreamConnection.Listener) ------------------------------------------------------------

    @Override
    public void onMessage(Object msg) {
        if (!(msg instanceof ByteBuf buf)) {
            ReferenceCountUtil.release(msg); // the end of the 101 (an empty LastHttpContent)
            return;
        }
        lastRead = System.nanoTime();
        if (!started) {
            if (abandoned) {
                buf.release();
                return;
            }
            if (early == null) {
                early = new ArrayDeque<>(2);
            }
            early.add(buf);
            return;
        }
        fromUpstream(buf);
    }

    private void fromUpstream(ByteBuf buf) {
        int from = buf.readerIndex();
        int length = buf.readableBytes();
        if (clientGone || closeToClient || upstreamClosing) {
            fromUpstream.follow(buf, from, length, false);
            buf.release();
        } else if (pendingToClient != 0) {
            int n = fromUpstream.follow(buf, from, length, true);
            if (n > 0) {
                toClient(buf.retainedSlice(from, n));
            }
            if (fromUpstream.closeSeen()) {
                closeToClient = true;
                pendingToClient = 0;
            } else if (fromUpstream.atBoundary()) {
                int code = pendingToClient;
                pendingToClient = 0;
                writeCloseToClient(code, reasonOf(code));
            }
            if (n < length) {
                fromUpstream.follow(buf, from + n, length - n, false);
            }
            buf.release();
        } else {
            fromUpstream.follow(buf, from, length, false);
            toClient(buf);
            if (fromUpstream.closeSeen()) {
                closeToClient = true;
            }
        }
        if (fromUpstream.closeSeen() && !closeFromUpstream) {
            closeFromUpstream = true;
            closeLegsDone();
        }
    }

    @Override
    public void onReadComplete() {
        flushClient();
    }

    @Override
    public void onWritabilityChanged() {
        updateReading();
    }

    @Override
    public void onClosed(Throwable cause) {
        upstreamGone = true;
        if (clientGone || abandoned || !started) {
            end();
            return;
        }
        if (!closeToClient) {
            // The upstream went away without a close frame: the client is told to reconnect (elsewhere).
            if (cause != null) {
                LOG.debug("WebSocket upstream {} failed: {}", upstream.endpoint(), cause.toString());
                sendCloseToClient(WebSocketCloseStatus.INTERNAL_SERVER_ERROR.code(), "upstream failed");
            } else {
                sendCloseToClient(WebSocketCloseStatus.SERVICE_RESTART.code(), "upstream went away");
            }
        }
        startClosing();
        closeLegsDone();
    }

    // ---- writing --------------------------------------------------------------------------------------------------

    private void toUpstream(Object msg) {
        up.write(msg, up.voidPromise());
        upstreamFlush = true;
        if (!up.isWritable()) {
            updateReading();
        }
    }

    private void toClient(ByteBuf buf) {
        exchange.countTunnelBytes(buf.readableBytes());
        client.write(buf, client.voidPromise());
        clientFlush = true;
        if (!client.channel().isWritable()) {
            updateReading();
        }
    }

    private void flushClient() {
        if (clientFlush && client != null) {
            clientFlush = false;
            client.flush();
        }
    }

    /**
     * Each side is read while what is read from it can be written to the other, and always while it is only
     * followed (Turnpike ends it: its close reply or its end is awaited).
     */
    private void updateReading() {
        if (client == null || ended) {
            return;
        }
        boolean clientForwards = !(upstreamGone || closeToUpstream || clientClosing);
        setAutoRead(client.channel(), !clientForwards || up.isWritable());
        boolean upstreamForwards = !(clientGone || closeToClient || upstreamClosing);
        setAutoRead(up, !upstreamForwards || client.channel().isWritable());
    }

    private static void setAutoRead(Channel ch, boolean read) {
        if (ch.config().isAutoRead() != read) {
            ch.config().setAutoRead(read);
        }
    }

    // ---- ending ---------------------------------------------------------------------------------------------------

    /** Turnpike ends the connection: close frames with {@code code} both ways, then the replies are awaited. */
    private void endBoth(int code, String reason) {
        if (ended) {
            return;
        }
        sendCloseToClient(code, reason);
        sendCloseToUpstream(code, reason);
        startClosing();
        closeLegsDone();
    }

    /** Sends the client a close frame now if the stream to it is between frames, else once the frame ends. */
    private void sendCloseToClient(int code, String reason) {
        if (closeToClient || clientGone || clientClosing || client == null) {
            return;
        }
        if (fromUpstream.atBoundary()) {
            writeCloseToClient(code, reason);
        } else if (upstreamGone) {
            closeClient(); // the frame half-sent to the client will never end: no clean close is possible
        } else {
            pendingToClient = code;
        }
    }

    private void sendCloseToUpstream(int code, String reason) {
        if (closeToUpstream || upstreamGone || upstreamClosing) {
            return;
        }
        if (fromClient == null || fromClient.atBoundary()) {
            writeCloseToUpstream(code, reason);
        } else if (clientGone) {
            closeUpstream();
        } else {
            pendingToUpstream = code;
        }
    }

    private void writeCloseToClient(int code, String reason) {
        closeToClient = true;
        ChannelPipeline p = client.pipeline();
        if (p.get(ENCODER) == null) {
            p.addBefore(client.name(), ENCODER, new WebSocket08FrameEncoder(false));
        }
        CloseWebSocketFrame frame = new CloseWebSocketFrame(code, reason);
        exchange.countTunnelBytes(2L + frame.content().readableBytes());
        client.writeAndFlush(frame, client.voidPromise());
        clientFlush = false;
        updateReading();
        if (clientFailed) {
            closeClient();
        }
    }

    private void writeCloseToUpstream(int code, String reason) {
        closeToUpstream = true;
        if (up.pipeline().get(ENCODER) == null) {
            up.pipeline().addLast(ENCODER, new WebSocket08FrameEncoder(true));
        }
        up.writeAndFlush(new CloseWebSocketFrame(code, reason), up.voidPromise());
        upstreamFlush = false;
        updateReading();
    }

    /** Closes each leg on which both close frames have gone by (the close handshake of that leg is complete). */
    private void closeLegsDone() {
        if (closeToClient && closeFromClient) {
            closeClient();
        }
        if (closeToUpstream && closeFromUpstream) {
            closeUpstream();
        }
        if (clientGone && upstreamGone) {
            end();
        }
    }

    private void closeClient() {
        if (clientClosing || clientGone || client == null) {
            return;
        }
        clientClosing = true;
        client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    private void closeUpstream() {
        if (upstreamClosing || upstreamGone) {
            return;
        }
        upstreamClosing = true;
        up.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    private void startClosing() {
        if (closeDeadline == 0 && !ended) {
            closeDeadline = System.nanoTime() + CLOSE_TIMEOUT_NANOS;
            arm(CLOSE_TIMEOUT_NANOS);
        }
    }

    /** Both sides are closed: the route's slot and the endpoint's count are given back. Once. */
    private void end() {
        if (ended) {
            return;
        }
        ended = true;
        releaseEarly();
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        lease.release();
        if (endpoint != null) {
            endpoint.onConnectionClose();
            endpoint = null;
        }
    }

    private void releaseEarly() {
        if (early != null) {
            ByteBuf b;
            while ((b = early.poll()) != null) {
                b.release();
            }
            early = null;
        }
    }

    private static String reasonOf(int code) {
        return switch (code) {
            case 1001 -> "going away";
            case 1009 -> "message too big";
            case 1011 -> "upstream failed";
            case 1012 -> "upstream went away";
            default -> "";
        };
    }

    // ---- timer: idle, then the close replies; one scheduled task re-armed lazily --------------------------------

    private void arm(long delayNanos) {
        long at = System.nanoTime() + delayNanos;
        if (timer != null && at - timerAt < 0) {
            timer.cancel(false);
            timer = null;
        }
        if (timer == null && client != null) {
            timerAt = at;
            timer = client.executor().schedule(this, delayNanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void run() {
        timer = null;
        if (ended) {
            return;
        }
        long now = System.nanoTime();
        if (closeDeadline != 0) {
            if (now - closeDeadline >= 0) {
                // The replies did not come (or a side does not read what is left for it): TCP is closed.
                if (!clientGone) {
                    client.channel().close();
                }
                if (!upstreamGone) {
                    up.close();
                }
                return;
            }
            arm(closeDeadline - now);
            return;
        }
        long idleAt = lastRead + settings.idleTimeoutNanos();
        if (now - idleAt >= 0) {
            LOG.debug("WebSocket from {} idle for {} s", client.channel().remoteAddress(),
                    TimeUnit.NANOSECONDS.toSeconds(settings.idleTimeoutNanos()));
            endBoth(WebSocketCloseStatus.ENDPOINT_UNAVAILABLE.code(), "idle timeout");
            return;
        }
        arm(idleAt - now);
    }
}
