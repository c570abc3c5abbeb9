package dev.turnpike.upstream;

/**
 * Limits shared by several {@link ConnectionPool}s (a cluster's circuit breaker, across endpoints and event loops):
 * connections open and requests waiting for one. Thread-safe. Each {@code tryAcquireX()} that returned true is
 * balanced by exactly one {@code releaseX()}; one that returned false by none.
 */
public interface ConnectionLimiter {
    /** Takes a slot for a new connection (held until its connect fails or it closes); false when at the limit. */
    boolean tryAcquireConnection();

    void releaseConnection();

    /** Takes a slot for a request waiting in a pool's queue; false when at the limit. */
    boolean tryAcquirePending();

    void releasePending();
}
