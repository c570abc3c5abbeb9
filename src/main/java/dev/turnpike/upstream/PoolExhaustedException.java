package dev.turnpike.upstream;

/**
 * A request could not get a connection from a pool at its {@code max_connections}: the pending queue was full or the
 * pending timeout expired. A local condition, not the endpoint's failure; the proxy answers 503.
 */
public final class PoolExhaustedException extends Exception {
    public PoolExhaustedException(String message) {
        super(message, null, false, false);
    }
}
