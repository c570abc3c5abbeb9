package dev.turnpike.http2;

import dev.turnpike.config.ListenerConfig;
import dev.turnpike.http.ClientPeer;
import dev.turnpike.http.Exchange;
import dev.turnpike.metrics.ListenerMetrics;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2LocalFlowController;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The connection-level part of an HTTP/2 connection, after the multiplexer: the connection's flow-control
 * window, its idle timeouts, and the graceful ends. A graceful end sends GOAWAY with the last stream ID it will
 * process and closes once the streams in flight are done; it happens on shutdown ({@link #drain()}), when the
 * connection has been idle for {@code timeouts.keep_alive} (before its first stream: {@code timeouts.request_head})
 * and when the client's stream IDs run out; a drain first tells each tunnel on the connection to end (a WebSocket sends
 * close frames with 1001). Frames that reach this handler (SETTINGS, PING, GOAWAY …) were
 * already answered by the codec and are dropped.
 */
public final class Http2ServerConnection extends ChannelDuplexHandler implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Http2ServerConnection.class);

    /**
     * When a client opens a stream with an ID this close to the end of the ID space (2^31-1, RFC 9113 section
     * 5.1.1), the connection ends gracefully so that the client moves to a new one before it runs out.
     */
    static final int STREAM_IDS_RESERVE = 2_000;

    private final Http2FrameCodec codec;
    private final int connectionWindow;
    private final long firstStreamNanos;
    private final long idleNanos;

    private final StreamTimers streamTimers;
    /** The streams whose exchange is in flight, for a reload's grace period ({@link #abortExchangesIf}). */
    private final ArrayList<Http2StreamTransport> live = new ArrayList<>();
    private ListenerMetrics metrics = ListenerMetrics.NONE;

    private ChannelHandlerContext ctx;
    private boolean hadStream;
    /** When the connection last had no open stream; 0 while it has some. */
    private long idleSince;
    private ScheduledFuture<?> timer;
    private boolean closing;
    private ClientPeer peer;

    Http2ServerConnection(Http2FrameCodec codec, ListenerConfig listener) {
        this.codec = codec;
        this.connectionWindow = listener.http2().connectionWindowSize();
        this.firstStreamNanos = listener.timeouts().requestHead().toNanos();
        this.idleNanos = listener.timeouts().keepAlive().toNanos();
        this.streamTimers = new StreamTimers(Math.min(listener.http2().flowControlTimeout().toNanos(),
                listener.timeouts().requestBody().toNanos()));
    }

    /** The client of this connection: one for all its streams. */
    ClientPeer peer() {
        if (peer == null) {
            peer = new ClientPeer((java.net.InetSocketAddress) ctx.channel().remoteAddress());
        }
        return peer;
    }

    StreamTimers streamTimers() {
        return streamTimers;
    }

    void started(Http2StreamTransport stream) {
        if (stream.liveIndex < 0) {
            stream.liveIndex = live.size();
            live.add(stream);
        }
    }

    void ended(Http2StreamTransport stream) {
        int i = stream.liveIndex;
        if (i < 0) {
            return;
        }
        stream.liveIndex = -1;
        Http2StreamTransport last = live.removeLast();
        if (last != stream) {
            live.set(i, last);
            last.liveIndex = i;
        }
    }

    /**
     * Aborts the exchanges in flight that {@code test} accepts (a reload's grace period ended for their route):
     * their streams are reset; the connection and its other streams go on. Must run on the connection's event loop.
     *
     * @return how many were aborted
     */
    public int abortExchangesIf(Predicate<Exchange> test) {
        int aborted = 0;
        for (Http2StreamTransport s : List.copyOf(live)) {
            if (s.abortExchangeIf(test)) {
                aborted++;
            }
        }
        return aborted;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Http2Exception {
        this.ctx = ctx;
        this.metrics = ListenerMetrics.of(ctx.channel());
        Http2Connection connection = codec.connection();
        // The connection window starts at 65535 whatever the settings say (RFC 9113 section 6.9.2): widen it.
        Http2LocalFlowController flow = connection.local().flowController();
        int delta = connectionWindow - flow.initialWindowSize(connection.connectionStream());
        if (delta > 0) {
            flow.incrementWindowSize(connection.connectionStream(), delta);
            ctx.flush();
        }
        connection.addListener(new Http2ConnectionAdapter() {
            @Override
            public void onStreamAdded(Http2Stream stream) {
                hadStream = true;
                idleSince = 0;
                if (stream.id() > Integer.MAX_VALUE - STREAM_IDS_RESERVE && !closing) {
                    // After the stream is set up and its request delivered: then it counts as in flight.
                    ctx.executor().execute(() -> closeGracefully("stream IDs exhausted"));
                }
            }

            @Override
            public void onStreamActive(Http2Stream stream) {
                metrics.http2StreamOpened();
            }

            @Override
            public void onStreamClosed(Http2Stream stream) {
                metrics.http2StreamClosed();
                if (connection.numActiveStreams() == 0) {
                    idleSince = System.nanoTime();
                }
            }
        });
        idleSince = System.nanoTime();
        if (ctx.channel().isActive()) {
            schedule(firstStreamNanos);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        idleSince = System.nanoTime();
        schedule(firstStreamNanos);
        super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancelTimer();
        streamTimers.close();
        super.channelInactive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Http2Exception || cause.getCause() instanceof Http2Exception) {
            // A connection error: the codec has already sent GOAWAY and is closing.
            LOG.debug("HTTP/2 connection error from {}: {}", ctx.channel().remoteAddress(), cause.toString());
            return;
        }
        if (!(cause instanceof IOException)) {
            LOG.warn("closing HTTP/2 connection from {} after an unexpected error", ctx.channel().remoteAddress(), cause);
        }
        ctx.close();
    }

    /**
     * Graceful shutdown: GOAWAY now (streams the client opens from here on are refused and safe to retry
     * elsewhere), close when the streams in flight are done. The caller's deadline closes what is left.
     */
    public void drain() {
        // Tunnels (WebSockets over extended CONNECT) first: their close frames go out before the GOAWAY, and the
        // graceful close waits for their close handshakes as for any stream in flight.
        for (Http2StreamTransport s : List.copyOf(live)) {
            s.goAway();
        }
        closeGracefully("shutting down");
    }

    /** Whether the connection is ending gracefully (GOAWAY sent): no stream may become a tunnel any more. */
    boolean isClosing() {
        return closing;
    }

    private void closeGracefully(String why) {
        if (closing || !ctx.channel().isActive()) {
            return;
        }
        closing = true;
        cancelTimer();
        LOG.debug("closing HTTP/2 connection from {} gracefully: {}", ctx.channel().remoteAddress(), why);
        // -1: wait for the active streams without a limit of Netty's own; each stream has its timeouts.
        codec.gracefulShutdownTimeoutMillis(-1);
        ctx.channel().close();
    }

    // ---- idle timer: one task, re-armed lazily ---------------------------------------------------------------

    private void schedule(long delayNanos) {
        if (timer == null && !closing) {
            timer = ctx.executor().schedule(this, delayNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    @Override
    public void run() {
        timer = null;
        if (closing || !ctx.channel().isActive()) {
            return;
        }
        long limit = hadStream ? idleNanos : firstStreamNanos;
        long since = idleSince;
        if (since == 0 || codec.connection().numActiveStreams() > 0) {
            schedule(limit);
            return;
        }
        long idle = System.nanoTime() - since;
        if (idle >= limit) {
            closeGracefully("idle");
        } else {
            schedule(limit - idle);
        }
    }
}
