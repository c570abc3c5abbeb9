package dev.turnpike.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2NoMoreStreamIdsException;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP/2 connections of one event loop to one {@link Endpoint}: cluster {@code protocol: h2c} (prior knowledge)
 * or {@code h2} (TLS, where ALPN must select h2 before any stream goes).
 * A request gets a stream, not a connection: {@link #connect} opens a stream channel on a connection with room for
 * one more (its peer's {@code SETTINGS_MAX_CONCURRENT_STREAMS}, assumed {@value #ASSUMED_MAX_STREAMS} until its
 * SETTINGS arrive), opening a connection only when none has room. Requests that arrive while a connection is being
 * opened wait for it rather than open their own, so a burst shares one connection. A stream is used once: releasing
 * it closes it (resets it if still open) and frees its slot.
 *
 * <p>Each stream channel's pipeline is {@code Http2StreamFrameToHttpObjectCodec} and an {@link UpstreamConnection}, so
 * its user talks {@code HttpObject}s as with HTTP/1.1. Back-pressure is the stream's: its channel turns unwritable
 * when its flow-control window is used up and its write buffer fills, and with auto-read off it stops consuming, so
 * no WINDOW_UPDATE goes out and the upstream stops sending (at most
 * {@value Http2ClientSupport#STREAM_WINDOW} bytes wait per stream).
 *
 * <p>Limits: {@code maxConnections} counts connections (open or opening); when every one is full, requests wait for a
 * stream slot (at most {@code maxPending}, for at most {@code pendingTimeout}). {@code maxRequestsPerConnection}
 * counts streams, {@code maxConnectionLifetime} ages: a connection past either is retired, as is one that received a
 * GOAWAY: it takes no new stream and closes when its last stream ends. A connection without streams for
 * {@code idleExpiry} closes; with {@code maxIdlePerLoop} 0 it closes as soon as it has none. No PING keepalive: an
 * upstream that drops an idle connection silently is found out by the next stream, which is then retried.
 *
 * <p>Confined to its loop, like the HTTP/1.1 pool.
 */
public final class Http2ConnectionPool implements ConnectionPool {
    private static final Logger LOG = LoggerFactory.getLogger(Http2ConnectionPool.class);

    /** Streams opened on a connection before its SETTINGS arrive (RFC 9113 §6.5.2 advises peers to allow 100). */
    static final int ASSUMED_MAX_STREAMS = 100;
    /** Per-connection receive window: so that a few paused streams do not stall the others. */
    static final int CONNECTION_WINDOW = 8 * 1024 * 1024;

    private final EventLoop loop;
    private final Endpoint endpoint;
    private final Bootstrap bootstrap;
    /** TLS to the endpoint (protocol h2), or null (h2c). */
    private final UpstreamTls tls;
    private final boolean direct;
    private final int maxHeaderListSize;
    private final int maxIdle;
    private final long idleExpiryNanos;
    private final long maxStreamsPerConnection;
    private final long lifetimeNanos;
    private final int maxConnections;
    /** Every connection open or opening, retired ones included (they still carry streams). */
    private final List<Parent> parents = new ArrayList<>(2);
    /** Requests waiting for a stream slot while {@code maxConnections} are full. */
    private final PendingConnects pending;
    private final Runnable sweeper = this::sweep;
    private ScheduledFuture<?> sweep;
    private boolean closed;
    private volatile int openCount;
    private volatile int idleCount;

    Http2ConnectionPool(EventLoop loop, Endpoint endpoint, PoolConfig config,
                        Class<? extends SocketChannel> channelClass, ByteBufAllocator alloc, EndpointResolver resolver,
                        ConnectionPools.Direct direct, ConnectionLimiter limiter) {
        this.loop = loop;
        this.endpoint = endpoint;
        this.pending = new PendingConnects(loop, endpoint, config, resolver, direct, limiter, "stream");
        this.maxIdle = config.maxIdlePerLoop();
        this.idleExpiryNanos = config.idleExpiry().toNanos();
        this.maxStreamsPerConnection = config.maxRequestsPerConnection();
        this.lifetimeNanos = config.maxConnectionLifetime().toNanos();
        this.maxConnections = config.maxConnections();
        this.bootstrap = ConnectionPools.bootstrap(loop, config, channelClass, alloc, direct);
        this.tls = config.tls();
        this.direct = direct != null;
        this.maxHeaderListSize = config.maxResponseHeaderSize();
    }

    @Override
    public EventLoop eventLoop() {
        return loop;
    }

    @Override
    public Endpoint endpoint() {
        return endpoint;
    }

    /** Kept as counts, not walked: metrics read them from other threads (a moment's view is enough there). */
    @Override
    public int openConnections() {
        return openCount;
    }

    @Override
    public int idleConnections() {
        return idleCount;
    }

    @Override
    public int pendingRequests() {
        return pending.size();
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    /** Always null: a stream is opened by {@link #connect} on a shared connection. */
    @Override
    public UpstreamConnection pollIdle() {
        return null;
    }

    @Override
    public void connect(ConnectCallback callback) {
        if (closed) {
            callback.connectFailed(new PoolExhaustedException("the connection pool to " + endpoint + " closed"));
            return;
        }
        Parent p = withRoom();
        if (p != null) {
            p.take(callback);
            return;
        }
        if (maxConnections == 0 || parents.size() < maxConnections) {
            open(callback);
            return;
        }
        pending.await(callback, parents.size());
    }

    /** The first connection that can take one more stream now or once it is open, or null. */
    private Parent withRoom() {
        long now = System.nanoTime();
        for (int i = 0; i < parents.size(); i++) {
            Parent p = parents.get(i);
            if (!p.retired && lifetimeNanos > 0 && p.active && now - p.createdAt >= lifetimeNanos) {
                p.retire(); // closes it if idle; it leaves the list when its channel is inactive, later
                continue;
            }
            if (p.room() > 0) {
                return p;
            }
        }
        return null;
    }

    /** Room was made (a stream ended, SETTINGS raised the limit, a connection closed): waiters get streams. */
    private void serveWaiters() {
        while (!pending.isEmpty() && !closed) {
            Parent p = withRoom();
            if (p == null && parents.size() >= maxConnections) {
                return;
            }
            ConnectCallback waiting = pending.poll();
            if (p != null) {
                p.take(waiting);
            } else {
                open(waiting);
            }
        }
    }

    // ---- connections -----------------------------------------------------------------------------------------

    /** Opens a connection for {@code first}; requests that find no room meanwhile queue on it too. */
    private void open(ConnectCallback first) {
        if (!pending.acquireConnection(first)) {
            return;
        }
        Parent p = new Parent(pending.limitsConnections());
        parents.add(p);
        p.queued.add(first);
        pending.address((address, failure) -> {
            if (failure != null) {
                p.connectFailed(failure);
            } else {
                connect(p, address);
            }
        });
    }

    private void connect(Parent p, SocketAddress address) {
        Http2FrameCodec codec = Http2ClientSupport.codec(maxHeaderListSize);
        ChannelFuture f = bootstrap.clone().handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                if (tls != null) {
                    ch.pipeline().addLast("tls", tls.newHandler(ch.alloc(), endpoint, direct));
                }
                ch.pipeline()
                        .addLast("h2", codec)
                        .addLast("h2-streams", Http2ClientSupport.multiplexer())
                        .addLast("h2-connection", new ParentHandler(p));
            }
        }).connect(address);
        p.channel = f.channel();
        p.codec = codec;
        f.addListener(future -> {
            if (!future.isSuccess()) {
                p.connectFailed(future.cause());
            }
            // on success the connection is used from its channelActive: the preface must go out first
        });
    }

    private void sweep() {
        sweep = null;
        long now = System.nanoTime();
        long next = Long.MAX_VALUE;
        for (Parent p : List.copyOf(parents)) {
            if (p.active && p.streams == 0 && p.idleSince != 0) {
                long left = idleExpiryNanos - (now - p.idleSince);
                if (left <= 0) {
                    p.channel.close();
                } else {
                    next = Math.min(next, left);
                }
            }
        }
        if (next != Long.MAX_VALUE && !closed) {
            sweep = loop.schedule(sweeper, next, TimeUnit.NANOSECONDS);
        }
    }

    private void scheduleSweep() {
        if (sweep == null && !closed) {
            sweep = loop.schedule(sweeper, idleExpiryNanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void close() {
        closed = true;
        if (sweep != null) {
            sweep.cancel(false);
            sweep = null;
        }
        pending.failAll();
        for (Parent p : List.copyOf(parents)) {
            if (p.active && p.streams == 0) {
                p.channel.close();
            }
        }
    }

    /**
     * Whether a failure to open or write a stream means the upstream never saw the request: the connection had no
     * stream left (REFUSED_STREAM raised locally, stream ids exhausted) or was going away.
     */
    static boolean unprocessed(Throwable cause) {
        for (Throwable c = cause; c != null; c = c.getCause()) {
            if (c instanceof UnprocessedRequestException || c instanceof Http2NoMoreStreamIdsException) {
                return true;
            }
            if (c instanceof Http2Exception e && e.error() == Http2Error.REFUSED_STREAM) {
                return true;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return false;
    }

    // ---- one connection ------------------------------------------------------------------------------------------

    /** One HTTP/2 connection and its streams; owns the {@link UpstreamConnection}s of its streams. */
    private final class Parent implements ConnectionOwner {
        /** Requests waiting for this connection to open. */
        final ArrayDeque<ConnectCallback> queued = new ArrayDeque<>(4);
        final boolean limiterSlot;
        Channel channel;
        Http2FrameCodec codec;
        Http2StreamChannelBootstrap streamBootstrap;
        boolean active;
        boolean retired;
        boolean settingsReceived;
        boolean gone;
        /** Streams open or opening. */
        int streams;
        /** Streams ever started, for {@code maxRequestsPerConnection}. */
        long started;
        long createdAt;
        /** Since when it has no stream (0 while it has some). */
        long idleSince;
        /** Counted in {@code idleCount}. */
        boolean idle;

        Parent(boolean limiterSlot) {
            this.limiterSlot = limiterSlot;
        }

        /** How many more streams this connection can take now (or once open). */
        long room() {
            if (retired || gone) {
                return 0;
            }
            long limit = ASSUMED_MAX_STREAMS;
            if (settingsReceived) {
                limit = codec.connection().local().maxActiveStreams();
            }
            if (codec != null && active && codec.connection().goAwayReceived()) {
                return 0;
            }
            long pending = streams + queued.size();
            long room = limit - pending;
            if (maxStreamsPerConnection > 0) {
                room = Math.min(room, maxStreamsPerConnection - started - queued.size());
            }
            return room;
        }

        void take(ConnectCallback callback) {
            if (active) {
                openStream(callback);
            } else {
                queued.add(callback);
            }
        }

        /** The connection is open and its preface sent: streams can go. */
        void activated() {
            active = true;
            openCount++;
            createdAt = System.nanoTime();
            streamBootstrap = new Http2StreamChannelBootstrap(channel)
                    .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 64 * 1024))
                    .handler(new ChannelInitializer<Http2StreamChannel>() {
                        @Override
                        protected void initChannel(Http2StreamChannel ch) {
                            ch.pipeline()
                                    .addLast("http2-codec", new Http2StreamFrameToHttpObjectCodec(false, true))
                                    .addLast("http2-head", new Http2RequestHead(tls != null))
                                    .addLast("upstream", new UpstreamConnection(Parent.this, ch));
                        }
                    });
            // A larger connection window than the default 64 KiB, so that streams paused for slow clients (each
            // holding up to its own window) do not starve the others.
            channel.writeAndFlush(new DefaultHttp2WindowUpdateFrame(
                    CONNECTION_WINDOW - Http2CodecUtil.DEFAULT_WINDOW_SIZE));
            ConnectCallback c;
            boolean fresh = true;
            while ((c = queued.poll()) != null) {
                openStream(c, false);
                fresh = false;
            }
            if (fresh) {
                becameIdle();
            }
        }

        void connectFailed(Throwable cause) {
            if (gone) {
                return;
            }
            LOG.debug("HTTP/2 connection to {} failed: {}", endpoint, cause.toString());
            leave();
            ConnectCallback c;
            while ((c = queued.poll()) != null) {
                c.connectFailed(cause);
            }
            serveWaiters();
        }

        private void openStream(ConnectCallback callback) {
            openStream(callback, started > 0);
        }

        private void openStream(ConnectCallback callback, boolean reused) {
            streams++;
            started++;
            idleSince = 0;
            if (idle) {
                idle = false;
                idleCount--;
            }
            if (maxStreamsPerConnection > 0 && started >= maxStreamsPerConnection) {
                retired = true; // this is its last stream: no new ones, it closes once they end
            }
            streamBootstrap.open().addListener((Future<Http2StreamChannel> f) -> {
                if (f.isSuccess()) {
                    UpstreamConnection c = f.getNow().pipeline().get(UpstreamConnection.class);
                    c.reused = reused;
                    callback.connected(c);
                } else {
                    streams--;
                    callback.connectFailed(f.cause());
                    streamEnded();
                }
            });
        }

        /** No more streams on this connection: GOAWAY, age or stream count. Closes it if it carries none. */
        void retire() {
            retired = true;
            if (active && streams == 0) {
                channel.close();
            }
        }

        void settings() {
            settingsReceived = true;
            serveWaiters();
        }

        void goAway(Http2GoAwayFrame frame) {
            LOG.debug("HTTP/2 connection to {} received GOAWAY ({}, last stream {})", endpoint,
                    UpstreamConnection.errorName(frame.errorCode()), frame.lastStreamId());
            retire();
            serveWaiters(); // waiters may now open a new connection in its place
        }

        private void streamEnded() {
            if (streams == 0) {
                if (retired || closed || maxIdle == 0) {
                    channel.close();
                } else {
                    becameIdle();
                }
            }
            serveWaiters();
        }

        private void becameIdle() {
            idleSince = System.nanoTime();
            if (!idle) {
                idle = true;
                idleCount++;
            }
            scheduleSweep();
        }

        /** Out of the pool for good: the connection failed or closed. */
        private void leave() {
            if (gone) {
                return;
            }
            gone = true;
            if (active) {
                active = false;
                openCount--;
            }
            if (idle) {
                idle = false;
                idleCount--;
            }
            parents.remove(this);
            if (limiterSlot) {
                pending.releaseConnection();
            }
        }

        void channelClosed() {
            boolean wasOpen = !gone;
            leave();
            ConnectCallback c;
            ClosedChannelException cause = new ClosedChannelException();
            while ((c = queued.poll()) != null) {
                c.connectFailed(cause);
            }
            if (wasOpen) {
                serveWaiters();
            }
        }

        // ---- ConnectionOwner: the streams ------------------------------------------------------------------

        @Override
        public Endpoint endpoint() {
            return endpoint;
        }

        /** A stream is never reused: closing it resets it if either side is still open, and frees its slot. */
        @Override
        public void release(UpstreamConnection c, boolean reusable) {
            c.channel().close();
        }

        @Override
        public void closed(UpstreamConnection c) {
            streams--;
            if (!gone) {
                streamEnded();
            }
        }
    }

    /** Events of one connection: its opening, SETTINGS, GOAWAY and close. */
    private final class ParentHandler extends ChannelInboundHandlerAdapter {
        private final Parent p;

        ParentHandler(Parent p) {
            this.p = p;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.fireChannelActive();
            if (!p.gone && tls == null) {
                p.activated();
            } // over TLS: once the handshake agreed on h2 (the preface waits in the TLS handler until then)
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent done && !p.gone && !p.active) {
                String problem = done.isSuccess() ? tls.alpnProblem(ctx.channel()) : null;
                if (done.isSuccess() && problem == null) {
                    p.activated();
                } else {
                    p.connectFailed(done.isSuccess() ? new SSLException(problem) : done.cause());
                    ctx.close();
                }
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2SettingsFrame) {
                    p.settings();
                } else if (msg instanceof Http2GoAwayFrame goAway) {
                    p.goAway(goAway);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("HTTP/2 connection to {} failed: {}", endpoint, cause.toString());
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            p.channelClosed();
            ctx.fireChannelInactive();
        }
    }
}
