package dev.turnpike.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.resolver.NoopAddressResolverGroup;
import io.netty.util.concurrent.ScheduledFuture;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * The connections of one event loop to one {@link Endpoint}. Confined to its loop: no locks, every method
 * must be called on {@link #eventLoop()}. Connections are made on that loop, so an exchange and its upstream
 * connection never cross threads.
 *
 * <p>Idle connections are reused last-in first-out (the most recently used one is the least likely to have
 * been closed by the upstream, and the others can expire); at most {@code maxIdlePerLoop} are kept (the
 * oldest goes first), and one unused for {@code idleExpiry} is closed. An idle connection the upstream
 * closes leaves the pool at once.
 */
public final class ConnectionPool {

    /** The outcome of {@link #connect}; called on the pool's loop. */
    public interface ConnectCallback {
        void connected(UpstreamConnection connection);

        void connectFailed(Throwable cause);
    }

    private final EventLoop loop;
    private final Endpoint endpoint;
    private final EndpointResolver resolver;
    private final InetSocketAddress literalAddress;
    private final Bootstrap bootstrap;
    private final int maxIdle;
    private final long idleExpiryNanos;
    private final long maxRequestsPerConnection;
    private final long lifetimeNanos;
    private final ArrayDeque<UpstreamConnection> idle = new ArrayDeque<>();
    private final Runnable sweeper = this::sweep;
    private ScheduledFuture<?> sweep;
    private int open;
    private boolean closed;

    ConnectionPool(EventLoop loop, Endpoint endpoint, PoolConfig config, Class<? extends SocketChannel> channelClass,
                   ByteBufAllocator alloc, EndpointResolver resolver) {
        this.loop = loop;
        this.endpoint = endpoint;
        this.resolver = resolver;
        this.literalAddress = endpoint.literalAddress();
        this.maxIdle = config.maxIdlePerLoop();
        this.idleExpiryNanos = config.idleExpiry().toNanos();
        this.maxRequestsPerConnection = config.maxRequestsPerConnection();
        this.lifetimeNanos = config.maxConnectionLifetime().toNanos();
        HttpDecoderConfig decoder = new HttpDecoderConfig()
                .setMaxInitialLineLength(config.maxResponseLine())
                .setMaxHeaderSize(config.maxResponseHeaderSize())
                .setMaxChunkSize(config.maxContentPiece());
        this.bootstrap = new Bootstrap()
                .group(loop)
                .channel(channelClass)
                .resolver(NoopAddressResolverGroup.INSTANCE)
                .option(ChannelOption.ALLOCATOR, alloc)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                        (int) Math.max(1, Math.min(Integer.MAX_VALUE, config.connectTimeout().toMillis())))
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 64 * 1024))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline()
                                .addLast("http-codec", new HttpClientCodec(decoder, false, false))
                                .addLast("upstream", new UpstreamConnection(ConnectionPool.this, ch));
                    }
                });
    }

    public EventLoop eventLoop() {
        return loop;
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    /** Connections open now, idle or in use. */
    public int openConnections() {
        return open;
    }

    public int idleConnections() {
        return idle.size();
    }

    public boolean isClosed() {
        return closed;
    }

    /** The most recently released live idle connection, or null when there is none. */
    public UpstreamConnection pollIdle() {
        long now = System.nanoTime();
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

    /** Opens a new connection; {@code callback} hears the outcome on this loop. */
    public void connect(ConnectCallback callback) {
        if (literalAddress != null) {
            connect(literalAddress, callback);
        } else {
            resolver.resolve(endpoint, loop, (address, failure) -> {
                if (failure != null) {
                    callback.connectFailed(failure);
                } else {
                    connect(address, callback);
                }
            });
        }
    }

    private void connect(InetSocketAddress address, ConnectCallback callback) {
        ChannelFuture f = bootstrap.connect(address);
        f.addListener(future -> {
            if (future.isSuccess()) {
                Channel ch = f.channel();
                UpstreamConnection c = ch.pipeline().get(UpstreamConnection.class);
                if (c == null || !ch.isActive()) {
                    callback.connectFailed(new java.nio.channels.ClosedChannelException());
                    return;
                }
                open++;
                c.createdAt = System.nanoTime();
                callback.connected(c);
            } else {
                callback.connectFailed(future.cause());
            }
        });
    }

    void release(UpstreamConnection c, boolean reusable) {
        Channel ch = c.channel();
        c.uses++;
        if (!reusable || closed || maxIdle == 0 || !ch.isActive()
                || (maxRequestsPerConnection > 0 && c.uses >= maxRequestsPerConnection)
                || tooOld(c, System.nanoTime())) {
            ch.close();
            return;
        }
        if (!ch.config().isAutoRead()) {
            // Idle connections keep reading so that an upstream close is noticed at once.
            ch.config().setAutoRead(true);
        }
        c.idleSince = System.nanoTime();
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

    /** The channel of {@code c} became inactive. */
    void closed(UpstreamConnection c) {
        if (!idle.isEmpty()) {
            idle.remove(c);
        }
        open--;
    }

    private void sweep() {
        sweep = null;
        long now = System.nanoTime();
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
    void close() {
        closed = true;
        cancelSweep();
        UpstreamConnection c;
        while ((c = idle.pollFirst()) != null) {
            c.channel().close();
        }
    }
}
