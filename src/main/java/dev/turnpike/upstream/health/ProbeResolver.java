package dev.turnpike.upstream.health;

import dev.turnpike.upstream.Endpoint;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Resolves an endpoint's host name for a health check, never on an event loop. Only called for names: IP literals
 * are used as they are. The stage may complete on any thread; the checker hops back to its loop.
 */
@FunctionalInterface
public interface ProbeResolver {

    CompletionStage<InetSocketAddress> resolve(Endpoint endpoint);

    /**
     * Looks names up with {@link InetAddress#getByName} on {@code blockingExecutor} (the server's blocking pool),
     * relying on the JVM's own address cache.
     */
    static ProbeResolver blocking(Executor blockingExecutor) {
        Objects.requireNonNull(blockingExecutor, "blockingExecutor");
        return endpoint -> CompletableFuture.supplyAsync(() -> {
            try {
                return new InetSocketAddress(InetAddress.getByName(endpoint.host()), endpoint.port());
            } catch (UnknownHostException e) {
                throw new CompletionException(e);
            }
        }, blockingExecutor);
    }
}
