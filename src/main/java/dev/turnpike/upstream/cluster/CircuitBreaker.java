package dev.turnpike.upstream.cluster;

import dev.turnpike.config.ClusterConfig;
import dev.turnpike.upstream.ConnectionLimiter;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Circuit breaking for a whole cluster (Envoy's thresholds): caps the requests in flight, the requests waiting for a
 * connection and the connections open, across all event loops ({@link ClusterConfig.Limits}, 0 = unlimited). Over a
 * limit the caller answers <b>503</b> at once instead of adding load to a cluster that is already struggling; every
 * refusal is counted per {@link Kind} ({@link #trips}) for metrics.
 *
 * <p>Usage (phase B): each {@code tryAcquireX()} that returned true is balanced by exactly one {@code releaseX()};
 * one that returned false by none.
 * <ul>
 *   <li>{@link #tryAcquireRequest()} when a client request is about to go to the cluster (before the first pick),
 *       {@link #releaseRequest()} when it ends, retries included (a retry is the same request).</li>
 *   <li>{@link #tryAcquirePending()} when an attempt has to wait in a pool's queue for a connection (none idle, and
 *       the pool's {@code max_connections} are in use), {@link #releasePending()} when it gets one or gives
 *       up (pending timeout, client gone).</li>
 *   <li>{@link #tryAcquireConnection()} before opening a new upstream connection, {@link #releaseConnection()} when
 *       the connect fails or the connection closes. The pools do this ({@code ConnectionLimiter}); a refused
 *       connection or pending slot fails the attempt, which gets 503 at once.</li>
 * </ul>
 *
 * <p>Lock-free: a limited counter is a CAS loop that never goes over its limit; an unlimited one a plain atomic
 * increment (kept so that the gauges work).
 */
public final class CircuitBreaker implements ConnectionLimiter {

    /** What a limit caps. */
    public enum Kind { REQUESTS, PENDING, CONNECTIONS }

    private final int maxRequests;
    private final int maxPending;
    private final int maxConnections;
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicInteger connections = new AtomicInteger();
    private final LongAdder requestTrips = new LongAdder();
    private final LongAdder pendingTrips = new LongAdder();
    private final LongAdder connectionTrips = new LongAdder();

    /** Limits as in {@link ClusterConfig.Limits}; 0 = unlimited. */
    public CircuitBreaker(int maxConnections, int maxPending, int maxRequests) {
        if (maxConnections < 0 || maxPending < 0 || maxRequests < 0) {
            throw new IllegalArgumentException("limits must not be negative: connections " + maxConnections
                    + ", pending " + maxPending + ", requests " + maxRequests);
        }
        this.maxConnections = maxConnections;
        this.maxPending = maxPending;
        this.maxRequests = maxRequests;
    }

    public static CircuitBreaker of(ClusterConfig.Limits limits) {
        return new CircuitBreaker(limits.maxConnections(), limits.maxPending(), limits.maxRequests());
    }

    /** No limits (the gauges still count). */
    public static CircuitBreaker unlimited() {
        return new CircuitBreaker(0, 0, 0);
    }

    // ------------------------------------------------------------------------------------------------ requests

    /** Takes a request slot; false (a trip) when {@code max_requests} are in flight. */
    public boolean tryAcquireRequest() {
        return acquire(requests, maxRequests, requestTrips);
    }

    public void releaseRequest() {
        requests.decrementAndGet();
    }

    // ------------------------------------------------------------------------------------------------ pending

    /** Takes a pending slot; false (a trip) when {@code max_pending} requests already wait for a connection. */
    @Override
    public boolean tryAcquirePending() {
        return acquire(pending, maxPending, pendingTrips);
    }

    @Override
    public void releasePending() {
        pending.decrementAndGet();
    }

    // ------------------------------------------------------------------------------------------------ connections

    /** Takes a connection slot; false (a trip) when {@code max_connections} are open to the cluster. */
    @Override
    public boolean tryAcquireConnection() {
        return acquire(connections, maxConnections, connectionTrips);
    }

    @Override
    public void releaseConnection() {
        connections.decrementAndGet();
    }

    private static boolean acquire(AtomicInteger counter, int max, LongAdder trips) {
        if (max == 0) {
            counter.incrementAndGet();
            return true;
        }
        for (;;) {
            int n = counter.get();
            if (n >= max) {
                trips.increment();
                return false;
            }
            if (counter.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ views

    /** The current count of {@code kind}. */
    public int current(Kind kind) {
        return switch (kind) {
            case REQUESTS -> requests.get();
            case PENDING -> pending.get();
            case CONNECTIONS -> connections.get();
        };
    }

    /** The limit of {@code kind}; 0 = unlimited. */
    public int limit(Kind kind) {
        return switch (kind) {
            case REQUESTS -> maxRequests;
            case PENDING -> maxPending;
            case CONNECTIONS -> maxConnections;
        };
    }

    /** How often {@code kind}'s limit refused a slot, since the start (a counter for metrics). */
    public long trips(Kind kind) {
        return switch (kind) {
            case REQUESTS -> requestTrips.sum();
            case PENDING -> pendingTrips.sum();
            case CONNECTIONS -> connectionTrips.sum();
        };
    }

    @Override
    public String toString() {
        return "CircuitBreaker{requests " + requests.get() + "/" + limitText(maxRequests) + ", pending "
                + pending.get() + "/" + limitText(maxPending) + ", connections " + connections.get() + "/"
                + limitText(maxConnections) + "}";
    }

    private static String limitText(int max) {
        return max == 0 ? "unlimited" : String.valueOf(max);
    }
}
