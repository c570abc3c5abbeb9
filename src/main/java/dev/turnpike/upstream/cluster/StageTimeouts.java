package dev.turnpike.upstream.cluster;

import dev.turnpike.config.ClusterConfig;

/**
 * A cluster's per-stage timeouts in nanoseconds, converted once ({@link ClusterConfig.Timeouts}). Each names its
 * stage in the 504 (or the aborted response) the client gets. Zero means off (only {@code total} may be zero).
 *
 * @param connectNanos   opening the connection (a {@link Outcome#CONNECT_FAILURE} when exceeded, retryable for
 *                       any method)
 * @param sendNanos      from the first byte of the request head to the last byte of its body written to the
 *                       endpoint; a slow client body counts against it, so arm it when the head is written and
 *                       disarm it when the last part's write completes
 * @param firstByteNanos from the request being sent completely to the first byte of the response head
 * @param idleNanos      longest pause between two reads of the response body
 * @param totalNanos     the whole exchange, all attempts included (retries do not reset it); 0 = off
 */
public record StageTimeouts(long connectNanos, long sendNanos, long firstByteNanos, long idleNanos, long totalNanos) {

    public static StageTimeouts of(ClusterConfig.Timeouts t) {
        return new StageTimeouts(t.connect().toNanos(), t.send().toNanos(), t.firstByte().toNanos(),
                t.idle().toNanos(), t.total().toNanos());
    }

    /** Whether {@link #totalNanos} is set. */
    public boolean hasTotal() {
        return totalNanos > 0;
    }
}
