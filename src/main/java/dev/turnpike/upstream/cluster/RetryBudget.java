package dev.turnpike.upstream.cluster;

import dev.turnpike.config.ClusterConfig;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Caps the retries in flight to a cluster, so that retries cannot multiply an overload (Envoy's retry budget): a retry
 * may start while the retries in flight are fewer than {@code max(minRetriesConcurrent, budgetPercent % of the
 * requests in flight)}. {@code minRetriesConcurrent} lets a quiet cluster retry at all.
 *
 * <p>Accounting (phase B): {@link #onRequestStart()} once per client request sent to the cluster (not per attempt;
 * retries are not counted as requests), {@link #onRequestEnd()} exactly once when it ends however it ends;
 * {@link #tryAcquireRetry()} before a retry attempt starts and, when it returned true, {@link #releaseRetry()} exactly
 * once when that attempt ends. A refused retry means the client gets the failure as it is.
 *
 * <p>Lock-free: request counting is a {@link LongAdder} (no contention between event loops on the common path);
 * only the rare retry path reads its sum and takes a slot with a CAS. The limit is computed from a sum read just before
 * the CAS, so under concurrent request churn it is exact to within the requests that start or end meanwhile.
 */
public final class RetryBudget {
    private final int budgetPercent;
    private final int minRetriesConcurrent;
    private final LongAdder active = new LongAdder();
    private final AtomicInteger retries = new AtomicInteger();
    private final LongAdder exhausted = new LongAdder();
    private final LongAdder granted = new LongAdder();

    /**
     * @param budgetPercent        retries in flight may be at most this share (0..100) of the requests in flight
     * @param minRetriesConcurrent retries always allowed in flight, whatever the budget
     */
    public RetryBudget(int budgetPercent, int minRetriesConcurrent) {
        if (budgetPercent < 0 || budgetPercent > 100) {
            throw new IllegalArgumentException("retry budget must be between 0 and 100 %: " + budgetPercent);
        }
        if (minRetriesConcurrent < 0) {
            throw new IllegalArgumentException("min_concurrent must not be negative: " + minRetriesConcurrent);
        }
        this.budgetPercent = budgetPercent;
        this.minRetriesConcurrent = minRetriesConcurrent;
    }

    public static RetryBudget of(ClusterConfig.Retries retries) {
        return new RetryBudget(retries.budgetPercent(), retries.minRetriesConcurrent());
    }

    /** A client request to the cluster started. */
    public void onRequestStart() {
        active.increment();
    }

    /** A request counted by {@link #onRequestStart()} ended. */
    public void onRequestEnd() {
        active.decrement();
    }

    /**
     * Takes a retry slot if the budget allows one now. True: the retry may start, and {@link #releaseRetry()} must
     * follow. False: the budget is exhausted (counted in {@link #exhausted()}).
     */
    public boolean tryAcquireRetry() {
        for (;;) {
            int inFlight = retries.get();
            if (inFlight >= limit()) {
                exhausted.increment();
                return false;
            }
            if (retries.compareAndSet(inFlight, inFlight + 1)) {
                granted.increment();
                return true;
            }
        }
    }

    /** A retry taken with {@link #tryAcquireRetry()} ended. */
    public void releaseRetry() {
        retries.decrementAndGet();
    }

    /** The retries that may be in flight now. */
    public int limit() {
        long a = Math.max(0, active.sum());
        long share = a * budgetPercent / 100;
        return (int) Math.min(Integer.MAX_VALUE, Math.max(minRetriesConcurrent, share));
    }

    /** Requests in flight (approximate while they change). */
    public long activeRequests() {
        return active.sum();
    }

    public int retriesInFlight() {
        return retries.get();
    }

    /** Retries allowed to go out, since the start (a counter for metrics). */
    public long granted() {
        return granted.sum();
    }

    /** Retries refused because the budget was exhausted, since the start (a counter for metrics). */
    public long exhausted() {
        return exhausted.sum();
    }

    public int budgetPercent() {
        return budgetPercent;
    }

    public int minRetriesConcurrent() {
        return minRetriesConcurrent;
    }

    @Override
    public String toString() {
        return "RetryBudget{" + budgetPercent + "%, min " + minRetriesConcurrent + ", retries " + retries.get() + "/"
                + limit() + "}";
    }
}
