package dev.turnpike.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.resolver.NoopAddressResolverGroup;

import java.net.SocketAddress;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;

/**
 * The connection pools of one handler (a proxy route's URL, or a cluster): one {@link ConnectionPool} per
 * (event loop, endpoint), HTTP/1.1 or HTTP/2 as {@link PoolConfig#protocol()} says. Finding a loop's pools is a lock-free map read; a loop's own endpoint map is only
 * touched by that loop. {@link #close} may be called from any thread: each loop closes its own pools.
 */
public final class ConnectionPools implements AutoCloseable {

    /** The pools of one event loop; touched only on that loop. */
    private static final class LoopPools {
        final Map<Endpoint, ConnectionPool> byEndpoint = new HashMap<>(4);
    }

    private final PoolConfig config;
    private final ConnectionLimiter limiter;
    private final Class<? extends SocketChannel> channelClass;
    private final EndpointResolver resolver;
    private final ConcurrentHashMap<EventLoop, LoopPools> byLoop = new ConcurrentHashMap<>();
    /** Every pool made, for metrics read from other threads (pools are made once per loop and endpoint). */
    private final CopyOnWriteArrayList<ConnectionPool> all = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    public ConnectionPools(PoolConfig config, Class<? extends SocketChannel> channelClass, Executor blockingExecutor) {
        this(config, channelClass, blockingExecutor, null);
    }

    /** @param limiter limits shared by all the pools (a cluster's circuit breaker), or null for none */
    public ConnectionPools(PoolConfig config, Class<? extends SocketChannel> channelClass, Executor blockingExecutor,
                           ConnectionLimiter limiter) {
        this(config, channelClass, blockingExecutor, limiter, HostLookup.SYSTEM);
    }

    /** @param lookup how host names become addresses (on {@code blockingExecutor}, cached for {@code dnsTtl}) */
    public ConnectionPools(PoolConfig config, Class<? extends SocketChannel> channelClass, Executor blockingExecutor,
                           ConnectionLimiter limiter, HostLookup lookup) {
        this.limiter = limiter;
        this.config = config;
        this.channelClass = channelClass;
        this.resolver = new EndpointResolver(blockingExecutor, config.dnsTtl().toNanos(), lookup);
    }

    public PoolConfig config() {
        return config;
    }

    /** How to reach an endpoint that is not a TCP host and port: a Unix socket's channel class and address. */
    public record Direct(Class<? extends Channel> channelClass, SocketAddress address) {
        /** The Host header sent to an endpoint reached directly, unless configured otherwise (as nginx does). */
        public static final String HOST_HEADER = "localhost";
    }

    /**
     * The pool of {@code loop} for {@code endpoint}, created on first use with the allocator of the connection
     * that asked. Must be called on {@code loop}.
     */
    public ConnectionPool pool(EventLoop loop, Endpoint endpoint, ByteBufAllocator alloc) {
        return pool(loop, endpoint, alloc, null);
    }

    /**
     * As {@link #pool(EventLoop, Endpoint, ByteBufAllocator)}; a pool created now connects as {@code direct} says
     * when it is not null (asked only on creation), with {@code endpoint} as its key.
     */
    public ConnectionPool pool(EventLoop loop, Endpoint endpoint, ByteBufAllocator alloc, Supplier<Direct> direct) {
        assert loop.inEventLoop();
        LoopPools lp = byLoop.get(loop);
        if (lp == null) {
            lp = byLoop.computeIfAbsent(loop, l -> new LoopPools());
        }
        ConnectionPool p = lp.byEndpoint.get(endpoint);
        if (p == null) {
            Direct d = direct == null ? null : direct.get();
            p = config.protocol().isHttp2()
                    ? new Http2ConnectionPool(loop, endpoint, config, channelClass, alloc, resolver, d, limiter)
                    : new Http1ConnectionPool(loop, endpoint, config, channelClass, alloc, resolver, d, limiter);
            lp.byEndpoint.put(endpoint, p);
            all.add(p);
            if (closed) {
                p.close();
            }
        }
        return p;
    }

    /**
     * Every pool made so far, safe to walk from any thread (metrics). Their counts are confined to their loops: read
     * from elsewhere they are a moment's view, possibly a little stale, which is what a gauge needs.
     */
    public List<ConnectionPool> pools() {
        return Collections.unmodifiableList(all);
    }

    /**
     * The bootstrap both kinds of pool connect with: on {@code loop}, without Netty's resolver (names are resolved off
     * the loop by {@link EndpointResolver}), with the pool's connect timeout and write-buffer marks; TCP options only
     * for TCP. The caller adds its handler.
     */
    static Bootstrap bootstrap(EventLoop loop, PoolConfig config, Class<? extends SocketChannel> channelClass,
                               ByteBufAllocator alloc, Direct direct) {
        Bootstrap b = new Bootstrap()
                .group(loop)
                .resolver(NoopAddressResolverGroup.INSTANCE)
                .option(ChannelOption.ALLOCATOR, alloc);
        if (direct != null) {
            b.channel(direct.channelClass()); // a domain socket: no TCP options
        } else {
            b.channel(channelClass)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.SO_KEEPALIVE, true);
        }
        return b.option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                        (int) Math.max(1, Math.min(Integer.MAX_VALUE, config.connectTimeout().toMillis())))
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 64 * 1024));
    }

    /** Closes idle connections now and in-use ones as they are released; later pools keep nothing idle. */
    @Override
    public void close() {
        closed = true;
        byLoop.forEach((loop, lp) -> {
            try {
                loop.execute(() -> lp.byEndpoint.values().forEach(ConnectionPool::close));
            } catch (RejectedExecutionException e) {
                // the loop is shutting down and closes its channels itself
            }
        });
    }
}
