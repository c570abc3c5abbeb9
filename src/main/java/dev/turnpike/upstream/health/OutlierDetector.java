package dev.turnpike.upstream.health;

import dev.turnpike.config.ClusterConfig.OutlierDetection;
import dev.turnpike.config.Durations;
import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.Ticker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Passive health: ejects an endpoint that live traffic shows to be failing, for a while.
 *
 * <p>The proxy reports the outcome of every upstream attempt with {@link #onResult}. An endpoint is ejected
 * ({@link EndpointState#markDown} with a reason such as {@code "ejected: 5 consecutive 5xx responses"}, through
 * {@link ClusterHealth}) when it returns {@code consecutive5xx} 5xx responses in a row or fails
 * {@code consecutiveConnectFailures} connects in a row (a threshold of 0 turns that rule off). A success resets both
 * counters; a 5xx resets the connect-failure counter (the connect worked); a connect failure leaves the 5xx counter
 * alone.
 *
 * <p>Ejection time: {@code baseEjectionTime × 2^n}, capped at {@code maxEjectionTime} (or at the base if the cap is
 * smaller), where {@code n} counts the earlier ejections that still count: it drops by one for every
 * {@code baseEjectionTime} the endpoint spends without being ejected (computed lazily). When the time is over the
 * ejection is lifted and the endpoint comes back through slow start — unless the active check holds it down, in
 * which case it stays down with that reason (see {@link ClusterHealth}). The counters are reset on return.
 *
 * <p>At most {@code maxEjectionPercent} % of the cluster's endpoints (all members, backups included), rounded down,
 * are ejected at once; as in Envoy, one ejection is always allowed when the percentage is above zero (a
 * one-endpoint cluster can be ejected: the balancer then panics and still uses it). 0 % ejects nothing. An ejection
 * refused for that reason is tried again every further threshold's worth of failures. Endpoints down for other
 * reasons (active check) do not count towards the limit.
 *
 * <p>Threading: {@link #onResult} is lock-free (one map lookup and an atomic increment; nothing is written when a
 * success finds the counters at zero) and may be called from every event loop at once. Ejecting and restoring —
 * rare — take one lock per cluster. Restores run on the timer given to the constructor; without one (tests with a
 * manual clock), {@link #sweep()} lifts the ejections that are due.
 */
public final class OutlierDetector implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OutlierDetector.class);

    /** The outcome of one upstream attempt, as the proxy classifies it. */
    public enum Outcome {
        /** A response that is not a 5xx (4xx included: the endpoint worked). */
        SUCCESS,
        /**
         * A 5xx response, or a failure after the connection was made that the proxy answers with a 5xx itself (a
         * reset or a timeout waiting for the response).
         */
        HTTP_5XX,
        /** The connection could not be made (refused, timed out, unreachable). */
        CONNECT_FAILURE
    }

    private final ClusterHealth health;
    private final Ticker ticker;
    private final ScheduledExecutorService timer;
    private final int consecutive5xx;
    private final int consecutiveConnectFailures;
    private final long baseNanos;
    private final long capNanos;
    private final int maxEjectionPercent;
    private final Object lock = new Object();
    /** Restore timers by endpoint; under {@link #lock}. */
    private final Map<EndpointHealth, Future<?>> timers = new IdentityHashMap<>();
    private long ejectionIds;
    private volatile boolean closed;

    /** Without a timer: ejections are lifted by {@link #sweep()} only (tests, or a caller with its own timer). */
    public OutlierDetector(ClusterHealth health, OutlierDetection config) {
        this(health, config, null);
    }

    /**
     * @param health the cluster's health, which this detector joins (one detector per cluster)
     * @param config the cluster's {@code health.passive} configuration
     * @param timer  where ejections are lifted when their time is over, e.g. an event loop; null for none
     */
    public OutlierDetector(ClusterHealth health, OutlierDetection config, ScheduledExecutorService timer) {
        this.health = Objects.requireNonNull(health, "health");
        Objects.requireNonNull(config, "config");
        if (config.consecutive5xx() < 0 || config.consecutiveConnectFailures() < 0) {
            throw new IllegalArgumentException("outlier thresholds must not be negative: " + config);
        }
        if (config.baseEjectionTime() == null || config.baseEjectionTime().isNegative()
                || config.baseEjectionTime().isZero()) {
            throw new IllegalArgumentException("base ejection time must be positive: " + config);
        }
        if (config.maxEjectionPercent() < 0 || config.maxEjectionPercent() > 100) {
            throw new IllegalArgumentException("max ejection percent must be between 0 and 100: " + config);
        }
        this.ticker = health.ticker();
        this.timer = timer;
        this.consecutive5xx = config.consecutive5xx();
        this.consecutiveConnectFailures = config.consecutiveConnectFailures();
        this.baseNanos = config.baseEjectionTime().toNanos();
        Duration max = config.maxEjectionTime();
        this.capNanos = Math.max(baseNanos, max == null ? 0 : max.toNanos());
        this.maxEjectionPercent = config.maxEjectionPercent();
        health.attach(this);
    }

    /**
     * The outcome of one attempt on {@code endpoint}. Lock-free; from any thread. Outcomes for an endpoint that is
     * not (or no longer) a member of the cluster are ignored.
     */
    public void onResult(EndpointState endpoint, Outcome outcome) {
        EndpointHealth h = health.find(endpoint);
        if (h == null || closed) {
            return;
        }
        switch (outcome) {
            case SUCCESS -> {
                if (h.consecutive5xx != 0) {
                    h.consecutive5xx = 0;
                }
                if (h.consecutiveConnectFailures != 0) {
                    h.consecutiveConnectFailures = 0;
                }
            }
            case HTTP_5XX -> {
                if (h.consecutiveConnectFailures != 0) {
                    h.consecutiveConnectFailures = 0;
                }
                int n = (int) EndpointHealth.C5XX.getAndAdd(h, 1) + 1;
                if (due(n, consecutive5xx) && !h.ejected()) {
                    eject(h, n + " consecutive 5xx responses");
                }
            }
            case CONNECT_FAILURE -> {
                int n = (int) EndpointHealth.CCONNECT.getAndAdd(h, 1) + 1;
                if (due(n, consecutiveConnectFailures) && !h.ejected()) {
                    eject(h, n + " consecutive connect failures");
                }
            }
        }
    }

    /** At the threshold, then at every further multiple of it (an ejection refused by the limit is retried). */
    private static boolean due(int n, int threshold) {
        return threshold > 0 && n >= threshold && n % threshold == 0;
    }

    private void eject(EndpointHealth h, String what) {
        String event;
        synchronized (lock) {
            if (closed || !h.member || h.ejected()) {
                return;
            }
            List<EndpointHealth> members = health.records();
            int allowed = maxEjections(members.size());
            int ejected = 0;
            for (EndpointHealth m : members) {
                ejected += m.ejected() ? 1 : 0;
            }
            if (ejected >= allowed) {
                LOG.debug("cluster {}: not ejecting endpoint {} after {}: {} of {} endpoints already ejected"
                        + " (max {}%)", health.cluster(), h.state.endpoint(), what, ejected, members.size(),
                        maxEjectionPercent);
                return;
            }
            long now = ticker.nanoTime();
            int count = ejectionCount(h, now);
            long nanos = ejectionNanos(count);
            h.ejectionCount = count + 1;
            h.totalEjections++;
            h.ejectedAt = now;
            h.ejectedUntil = now + nanos;
            long id = ++ejectionIds;
            h.ejectionId = id;
            h.ejectionReason = "ejected: " + what;
            schedule(h, id, nanos);
            event = "was ejected for " + Durations.format(Duration.ofNanos(nanos)) + " (ejection "
                    + h.totalEjections + ") after " + what;
        }
        health.apply(h, event);
    }

    /** The ejection time after {@code count} earlier ejections: base × 2^count, capped. */
    long ejectionNanos(int count) {
        long d = baseNanos;
        for (int i = 0; i < count && d < capNanos; i++) {
            d = d > capNanos / 2 ? capNanos : d * 2;
        }
        return Math.min(d, capNanos);
    }

    /** The ejections of {@code h} that still count at {@code now}, after decay. Under {@link #lock} or for a view. */
    int ejectionCount(EndpointHealth h, long now) {
        int count = h.ejectionCount;
        if (count == 0 || h.ejected()) {
            return count;
        }
        long periods = (now - h.decayFrom) / baseNanos;
        return periods <= 0 ? count : (int) Math.max(0, count - periods);
    }

    /** The most endpoints that may be ejected at once in a cluster of {@code members}. */
    int maxEjections(int members) {
        if (maxEjectionPercent <= 0 || members == 0) {
            return 0;
        }
        return Math.max(1, members * maxEjectionPercent / 100);
    }

    /** The most endpoints that may be ejected at once with the current membership. */
    public int maxEjections() {
        return maxEjections(health.records().size());
    }

    /** Endpoints ejected now (exact: counted under the lock that ejections and restores take). */
    public int ejectedCount() {
        synchronized (lock) {
            int n = 0;
            for (EndpointHealth h : health.records()) {
                n += h.ejected() ? 1 : 0;
            }
            return n;
        }
    }

    /** Whether {@code endpoint} is ejected now. */
    public boolean isEjected(EndpointState endpoint) {
        EndpointHealth h = health.find(endpoint);
        return h != null && h.ejected();
    }

    private void schedule(EndpointHealth h, long id, long delayNanos) {
        if (timer == null) {
            return;
        }
        try {
            timers.put(h, timer.schedule(() -> restoreIfDue(h, id), delayNanos, TimeUnit.NANOSECONDS));
        } catch (RejectedExecutionException e) {
            // the timer is shutting down: sweep() or close() lifts the ejection
        }
    }

    private void restoreIfDue(EndpointHealth h, long id) {
        String event;
        synchronized (lock) {
            if (closed || h.ejectionId != id || !h.ejected()) {
                return;
            }
            timers.remove(h);
            if (!h.member) {
                return;
            }
            long now = ticker.nanoTime();
            long left = h.ejectedUntil - now;
            if (left > 0) {
                schedule(h, id, left);
                return;
            }
            event = restore(h, now);
        }
        health.apply(h, event);
    }

    /** Lifts the ejection of {@code h}; under {@link #lock}. Returns the log event. */
    private String restore(EndpointHealth h, long now) {
        long ejectedFor = Math.max(0, now - h.ejectedAt);
        h.ejectionReason = null;
        h.decayFrom = now;
        h.consecutive5xx = 0;
        h.consecutiveConnectFailures = 0;
        Future<?> t = timers.remove(h);
        if (t != null) {
            t.cancel(false);
        }
        return "returned from ejection after " + Durations.format(Duration.ofNanos(ejectedFor));
    }

    /** Lifts every ejection whose time is over (by the cluster's ticker). Returns how many were lifted. */
    public int sweep() {
        List<EndpointHealth> lifted = new ArrayList<>();
        List<String> events = new ArrayList<>();
        synchronized (lock) {
            if (closed) {
                return 0;
            }
            long now = ticker.nanoTime();
            for (EndpointHealth h : health.records()) {
                if (h.ejected() && h.ejectedUntil - now <= 0) {
                    events.add(restore(h, now));
                    lifted.add(h);
                }
            }
        }
        for (int i = 0; i < lifted.size(); i++) {
            health.apply(lifted.get(i), events.get(i));
        }
        return lifted.size();
    }

    /** Stops detecting and lifts every current ejection (nobody would lift them otherwise). */
    @Override
    public void close() {
        List<EndpointHealth> lifted = new ArrayList<>();
        List<String> events = new ArrayList<>();
        synchronized (lock) {
            if (closed) {
                return;
            }
            long now = ticker.nanoTime();
            for (EndpointHealth h : health.records()) {
                if (h.ejected()) {
                    restore(h, now);
                    events.add("ejection lifted: outlier detection stopped");
                    lifted.add(h);
                }
            }
            for (Future<?> t : timers.values()) {
                t.cancel(false);
            }
            timers.clear();
            closed = true;
        }
        health.detach(this);
        for (int i = 0; i < lifted.size(); i++) {
            health.apply(lifted.get(i), events.get(i));
        }
    }

    @Override
    public String toString() {
        return "OutlierDetector{" + health.cluster() + ", 5xx=" + consecutive5xx + ", connect="
                + consecutiveConnectFailures + ", base=" + Durations.format(Duration.ofNanos(baseNanos)) + ", max="
                + Durations.format(Duration.ofNanos(capNanos)) + ", maxPercent=" + maxEjectionPercent + "}";
    }
}
