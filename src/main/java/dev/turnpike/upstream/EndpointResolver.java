package dev.turnpike.upstream;

import io.netty.channel.EventLoop;

import java.net.InetAddress;
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
    private static final long TTL_NANOS = 30_000_000_000L;

    private record Cached(InetSocketAddress address, long expiresAt) {}

    private final Executor blockingExecutor;
    private final ConcurrentHashMap<Endpoint, Cached> cache = new ConcurrentHashMap<>();

    EndpointResolver(Executor blockingExecutor) {
        this.blockingExecutor = blockingExecutor;
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
                    address = new InetSocketAddress(InetAddress.getByName(endpoint.host()), endpoint.port());
                    cache.put(endpoint, new Cached(address, System.nanoTime() + TTL_NANOS));
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
