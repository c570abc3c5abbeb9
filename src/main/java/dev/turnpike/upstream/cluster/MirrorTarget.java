package dev.turnpike.upstream.cluster;

import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Where a route mirrors requests ({@code mirror: { cluster, percent }}), built by {@link Clusters#mirror}: the shadow
 * cluster and the share of requests copied to it. {@link #sample()} decides per request, lock-free.
 *
 * <p>Mirroring is fire-and-forget (phase B): the copy is sent after the primary's pick, on the same event loop, and
 * must never delay or fail the primary: it takes its own circuit-breaker slot on the shadow cluster (over a limit the
 * copy is simply dropped), is never retried, its response is read and discarded, and a failure only reaches the
 * shadow cluster's outcome reporting. It carries the request body only when the body was buffered whole (each copy
 * gets its own retained duplicate of the buffer); a request whose body is streamed is not mirrored at all, so the
 * primary's back-pressure never waits on the shadow and the shadow never sees a truncated body.
 *
 * @param cluster the shadow cluster
 * @param percent share of requests copied, 1..100
 */
public record MirrorTarget(ClusterRuntime cluster, int percent) {
    public MirrorTarget {
        Objects.requireNonNull(cluster, "cluster");
        if (percent < 1 || percent > 100) {
            throw new IllegalArgumentException("mirror percent must be between 1 and 100, got " + percent);
        }
    }

    /** Whether this request is to be copied. */
    public boolean sample() {
        return percent == 100 || ThreadLocalRandom.current().nextInt(100) < percent;
    }
}
