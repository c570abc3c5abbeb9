package dev.turnpike.upstream;

import io.netty.channel.EventLoop;

import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BiConsumer;

/**
 * Turns endpoint host names into addresses without blocking an event loop: IP literals need no lookup; names
 * are looked up on the blocking executor and cached for a short time. The answer is delivered on the loop
 * that asked.
 */
final class EndpointResolver {

    private record Cached(InetSocketAddress address, long expiresAt) {}

    private final Executor blockingExecutor;
    private final HostLookup lookup;
    private final ConcurrentHashMap<Endpoint, Cached> cache = new ConcurrentHashMap<>();

    private final long ttlNanos;

    /** @param ttlNanos how long an answer is used (a cluster's {@code dns_refresh}); 0 looks up every time */
    EndpointResolver(Executor blockingExecutor, long ttlNanos, HostLookup lookup) {
        this.blockingExecutor = blockingExecutor;
        this.lookup = lookup;
        this.ttlNanos = ttlNanos;
    }

    void resolve(Endpoint endpoint, EventLoop loop, BiConsumer<InetSocketAddress, Throwable> callback) {
        Cached c = cache.get(endpoint);
        if (c != null && System.nanoTime() - c.expiresAt < 0) {
            callback.accept(c.address, null);
            return;
        }
        try {
            blockingExecutor.execute(() -> {
                InetSocketAddress address = null;
                Throwable failure = null;
                try {
                    address = new InetSocketAddress(lookup.lookup(endpoint.host()), endpoint.port());
                    cache.put(endpoint, new Cached(address, System.nanoTime() + ttlNanos));
                } catch (Exception e) {
                    failure = e;
                }
                InetSocketAddress a = address;
                Throwable f = failure;
                try {
                    loop.execute(() -> callback.accept(a, f));
                } catch (RejectedExecutionException ignored) {
                    // the loop is shutting down: nobody is waiting any more
                }
            });
        } catch (RejectedExecutionException e) {
            callback.accept(null, e);
        }
    }
}
