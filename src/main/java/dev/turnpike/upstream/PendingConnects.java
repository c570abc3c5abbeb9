package dev.turnpike.upstream;

import dev.turnpike.upstream.ConnectionPool.ConnectCallback;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;

import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * What both kinds of pool do the same way around making connections: the requests that wait while the pool is at
 * {@code maxConnections} (bounded by {@code maxPending}, each for at most {@code pendingTimeout}, counted against the
 * cluster's limit of waiting requests), taking a slot of the cluster's connection limit, and finding the address to
 * connect to. Confined to the pool's event loop, like the pool.
 */
final class PendingConnects {
    private final EventLoop loop;
    private final Endpoint endpoint;
    private final EndpointResolver resolver;
    /** The address to connect to without a lookup (an IP literal or a socket file), or null. */
    private final SocketAddress literalAddress;
    private final int maxPending;
    private final long timeoutNanos;
    /** Limits shared with other pools (the cluster's circuit breaker), or null. */
    private final ConnectionLimiter limiter;
    /** What a request waits for, in messages: "connection" or "stream". */
    private final String slot;
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();

    /**
     * @param direct for a Unix-socket endpoint its channel class and address, else null
     * @param slot   what a request waits for, as its error messages name it
     */
    PendingConnects(EventLoop loop, Endpoint endpoint, PoolConfig config, EndpointResolver resolver,
                    ConnectionPools.Direct direct, ConnectionLimiter limiter, String slot) {
        this.loop = loop;
        this.endpoint = endpoint;
        this.resolver = resolver;
        this.literalAddress = direct != null ? direct.address() : endpoint.literalAddress();
        this.maxPending = config.maxPending();
        this.timeoutNanos = config.pendingTimeout().toNanos();
        this.limiter = limiter;
        this.slot = slot;
    }

    int size() {
        return waiters.size();
    }

    boolean isEmpty() {
        return waiters.isEmpty();
    }

    /**
     * Queues {@code callback} until {@link #poll} hands it room; or, when {@code maxPending} already wait or the
     * cluster's limit of waiting requests is reached, fails it at once.
     *
     * @param openConnections the pool's connections, for the error message
     */
    void await(ConnectCallback callback, int openConnections) {
        if (waiters.size() >= maxPending) {
            callback.connectFailed(new PoolExhaustedException("connection pool to " + endpoint + " is full: "
                    + openConnections + " connections without a free " + slot + " and " + waiters.size()
                    + " waiting"));
            return;
        }
        if (limiter != null && !limiter.tryAcquirePending()) {
            callback.connectFailed(new ClusterLimitException("the cluster of " + endpoint
                    + " is at its limit of requests waiting for a connection"));
            return;
        }
        Waiter w = new Waiter(callback);
        w.timer = loop.schedule(w, timeoutNanos, TimeUnit.NANOSECONDS);
        waiters.add(w);
    }

    /** The request that has waited longest, no longer waiting (its timer stopped), or null when none waits. */
    ConnectCallback poll() {
        Waiter w = waiters.poll();
        if (w == null) {
            return null;
        }
        w.timer.cancel(false);
        releasePending();
        return w.callback;
    }

    /** Fails every waiting request: the pool closed. */
    void failAll() {
        ConnectCallback c;
        while ((c = poll()) != null) {
            c.connectFailed(new PoolExhaustedException("the connection pool to " + endpoint + " closed"));
        }
    }

    /**
     * Takes a slot of the cluster's connection limit for a new connection; when none is free, fails
     * {@code callback} and returns false. A taken slot is given back with {@link #releaseConnection}.
     */
    boolean acquireConnection(ConnectCallback callback) {
        if (limiter != null && !limiter.tryAcquireConnection()) {
            callback.connectFailed(new ClusterLimitException("the cluster of " + endpoint
                    + " is at its connection limit"));
            return false;
        }
        return true;
    }

    /** Whether connections count against a cluster's connection limit (and must give their slot back). */
    boolean limitsConnections() {
        return limiter != null;
    }

    void releaseConnection() {
        if (limiter != null) {
            limiter.releaseConnection();
        }
    }

    /**
     * Hands {@code then} the address to connect to, or why there is none, on the loop: at once for a literal
     * address, after the resolver's (cached, off-loop) lookup for a host name.
     */
    void address(BiConsumer<SocketAddress, Throwable> then) {
        if (literalAddress != null) {
            then.accept(literalAddress, null);
        } else {
            resolver.resolve(endpoint, loop, then::accept);
        }
    }

    private void releasePending() {
        if (limiter != null) {
            limiter.releasePending();
        }
    }

    /** A request waiting for room; its run() is the pending timeout. */
    private final class Waiter implements Runnable {
        final ConnectCallback callback;
        ScheduledFuture<?> timer;

        Waiter(ConnectCallback callback) {
            this.callback = callback;
        }

        @Override
        public void run() {
            if (waiters.remove(this)) {
                releasePending();
                callback.connectFailed(new PoolExhaustedException("no " + slot + " to " + endpoint
                        + " became free within the pending timeout"));
            }
        }
    }
}
