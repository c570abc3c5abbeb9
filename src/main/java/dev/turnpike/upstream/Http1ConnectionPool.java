package dev.turnpike.upstream;

import dev.turnpike.server.LoopClock;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;

import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP/1.1 connections of one event loop to one {@link Endpoint}. Confined to its loop: no locks, every method
 * must be called on {@link #eventLoop()}. Connections are made on that loop, so an exchange and its upstream
 * connection never cross threads.
 *
 * <p>Idle connections are reused last-in first-out (the most recently used one is the least likely to have
 * been closed by the upstream, and the others can expire); at most {@code maxIdlePerLoop} are kept (the
 * oldest goes first), and one unused for {@code idleExpiry} is closed. An idle connection the upstream
 * closes leaves the pool at once.
 */
public final class Http1ConnectionPool implements ConnectionPool, ConnectionOwner {
    /** Takes HTTP/1.1 off a connection of this pool: after a 101, its bytes are another protocol's. */
    public static void removeHttpCodec(io.netty.channel.ChannelPipeline p) {
        Http1ClientCodec.remove(p);
    }

    private final EventLoop loop;
    private final Endpoint endpoint;
    private final Bootstrap bootstrap;
    /** TLS to the endpoint, or null. */
    private final UpstreamTls tls;
    private final int maxIdle;
    private final long idleExpiryNanos;
    private final long maxRequestsPerConnection;
    private final long lifetimeNanos;
    private final int maxConnections;
    /** Requests waiting for a connection while {@code maxConnections} are in use. */
    private final PendingConnects pending;
    private int connecting;
    private final ArrayDeque<UpstreamConnection> idle = new ArrayDeque<>();
    private final Runnable sweeper = this::sweep;
    private ScheduledFuture<?> sweep;
    private int open;
    private boolean closed;

    /**
     * @param direct for a Unix-socket endpoint: the domain-socket channel class and address ({@code endpoint} is then
     *               only its key); null for TCP
     */
    Http1ConnectionPool(EventLoop loop, Endpoint endpoint, PoolConfig config,
                        Class<? extends SocketChannel> channelClass, ByteBufAllocator alloc, EndpointResolver resolver,
                        ConnectionPools.Direct direct, ConnectionLimiter limiter) {
        this.loop = loop;
        this.endpoint = endpoint;
        this.pending = new PendingConnects(loop, endpoint, config, resolver, direct, limiter, "connection");
        this.maxIdle = config.maxIdlePerLoop();
        this.idleExpiryNanos = config.idleExpiry().toNanos();
        this.maxRequestsPerConnection = config.maxRequestsPerConnection();
        this.lifetimeNanos = config.maxConnectionLifetime().toNanos();
        this.maxConnections = config.maxConnections();
        this.tls = config.tls();
        boolean isDirect = direct != null;
        this.bootstrap = ConnectionPools.bootstrap(loop, config, channelClass, alloc, direct)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast("tls", tls.newHandler(ch.alloc(), endpoint, isDirect));
                        }
                        Http1ClientCodec.install(ch.pipeline(), config);
                        ch.pipeline().addLast("upstream", new UpstreamConnection(Http1ConnectionPool.this, ch));
                    }
                });
    }

    @Override
    public EventLoop eventLoop() {
        return loop;
    }

    @Override
    public Endpoint endpoint() {
        return endpoint;
    }

    /** Connections open now, idle or in use. */
    @Override
    public int openConnections() {
        return open;
    }

    @Override
    public int idleConnections() {
        return idle.size();
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    /** The most recently released live idle connection, or null when there is none. */
    @Override
    public UpstreamConnection pollIdle() {
        long now = LoopClock.nanoTime();
        UpstreamConnection c;
        while ((c = idle.pollFirst()) != null) {
            if (c.channel().isActive() && now - c.idleSince < idleExpiryNanos && !tooOld(c, now)) {
                if (idle.isEmpty()) {
                    cancelSweep();
                }
                return c;
            }
            c.channel().close();
        }
        return null;
    }

    /**
     * Opens a new connection; {@code callback} hears the outcome on this loop. With {@code maxConnections} in use
     * (open or opening), the request waits instead for a connection to be released or to close, at most
     * {@code pendingTimeout} and behind at most {@code maxPending} others; it fails with a
     * {@link PoolExhaustedException} when the queue is full or the wait times out.
     */
    @Override
    public void connect(ConnectCallback callback) {
        if (maxConnections > 0 && open + connecting >= maxConnections) {
            if (closed) {
                // Nothing will make room: a closed pool opens no connection for a waiter.
                callback.connectFailed(new PoolExhaustedException("the connection pool to " + endpoint + " closed"));
            } else {
                pending.await(callback, open + connecting);
            }
            return;
        }
        open(callback);
    }

    /** Requests waiting for a connection now. */
    @Override
    public int pendingRequests() {
        return pending.size();
    }

    /** Room was made (a connection closed or a connect failed): the first waiter gets a connection of its own. */
    private void serveWaiters() {
        while (!pending.isEmpty() && open + connecting < maxConnections) {
            open(pending.poll());
        }
    }

    private void open(ConnectCallback callback) {
        if (!pending.acquireConnection(callback)) {
            return;
        }
        connecting++;
        pending.address((address, failure) -> {
            if (failure != null) {
                connecting--;
                pending.releaseConnection();
                callback.connectFailed(failure);
                serveWaiters();
            } else {
                connect(address, callback);
            }
        });
    }

    private void connect(SocketAddress address, ConnectCallback callback) {
        ChannelFuture f = bootstrap.connect(address);
        f.addListener(future -> {
            if (future.isSuccess()) {
                Channel ch = f.channel();
                UpstreamConnection c = ch.pipeline().get(UpstreamConnection.class);
                connecting--;
                if (c == null || !ch.isActive()) {
                    pending.releaseConnection();
                    callback.connectFailed(new java.nio.channels.ClosedChannelException());
                    serveWaiters();
                    return;
                }
                open++;
                c.limiterSlot = pending.limitsConnections();
                c.createdAt = LoopClock.nanoTime();
                if (tls == null) {
                    callback.connected(c);
                    return;
                }
                // Usable once the handshake is done; a failed one closes the channel (closed() counts it).
                ch.pipeline().get(SslHandler.class).handshakeFuture().addListener(h -> {
                    if (h.isSuccess()) {
                        callback.connected(c);
                    } else {
                        ch.close();
                        callback.connectFailed(h.cause());
                    }
                });
            } else {
                connecting--;
                pending.releaseConnection();
                callback.connectFailed(future.cause());
                serveWaiters();
            }
        });
    }

    @Override
    public void release(UpstreamConnection c, boolean reusable) {
        Channel ch = c.channel();
        c.uses++;
        c.reused = true;
        if (!reusable || closed || maxIdle == 0 || !ch.isActive()
                || (maxRequestsPerConnection > 0 && c.uses >= maxRequestsPerConnection)
                || tooOld(c, LoopClock.nanoTime())) {
            ch.close();
            return;
        }
        if (!ch.config().isAutoRead()) {
            // Idle connections keep reading so that an upstream close is noticed at once.
            ch.config().setAutoRead(true);
        }
        ConnectCallback waiting = pending.poll();
        if (waiting != null) {
            // Someone waits for a connection: it gets this one rather than the idle list.
            c.idleSince = LoopClock.nanoTime();
            waiting.connected(c);
            return;
        }
        c.idleSince = LoopClock.nanoTime();
        idle.addFirst(c);
        if (idle.size() > maxIdle) {
            idle.pollLast().channel().close();
        }
        if (sweep == null) {
            sweep = loop.schedule(sweeper, idleExpiryNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** Whether {@code c} outlived {@code max_connection_lifetime}: it is closed instead of reused. */
    private boolean tooOld(UpstreamConnection c, long now) {
        return lifetimeNanos > 0 && now - c.createdAt >= lifetimeNanos;
    }

    @Override
    public void closed(UpstreamConnection c) {
        if (!idle.isEmpty()) {
            idle.remove(c);
        }
        open--;
        if (c.limiterSlot) {
            c.limiterSlot = false;
            pending.releaseConnection();
        }
        serveWaiters();
    }

    private void sweep() {
        sweep = null;
        long now = LoopClock.nanoTime();
        UpstreamConnection oldest;
        while ((oldest = idle.peekLast()) != null && now - oldest.idleSince >= idleExpiryNanos) {
            idle.pollLast();
            oldest.channel().close();
        }
        if (oldest != null && !closed) {
            sweep = loop.schedule(sweeper, idleExpiryNanos - (now - oldest.idleSince), TimeUnit.NANOSECONDS);
        }
    }

    private void cancelSweep() {
        if (sweep != null) {
            sweep.cancel(false);
            sweep = null;
        }
    }

    /** Closes the idle connections; connections in use are closed when they are released. */
    @Override
    public void close() {
        closed = true;
        cancelSweep();
        pending.failAll();
        UpstreamConnection c;
        while ((c = idle.pollFirst()) != null) {
            c.channel().close();
        }
    }
}
