package dev.turnpike.upstream;

/**
 * A request could not get a connection because a limit shared by the cluster ({@link ConnectionLimiter}: its
 * {@code limits.max_connections} or {@code limits.max_pending}) was reached. A local condition, not the endpoint's
 * failure; the proxy answers 503.
 */
public final class ClusterLimitException extends Exception {
    public ClusterLimitException(String message) {
        super(message, null, false, false);
    }
}
