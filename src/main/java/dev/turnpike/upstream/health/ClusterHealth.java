package dev.turnpike.upstream.health;

import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.Health;
import dev.turnpike.upstream.lb.Ticker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The health of one cluster's endpoints as its two sources see it: the {@link ActiveHealthChecker} and the
 * {@link OutlierDetector} each keep their own verdict per endpoint here, and this class derives the
 * {@link EndpointState}'s health from both: <b>down while either source says down</b>, up when neither does. So an
 * endpoint that fails its active check stays down when its ejection ends, and an ejected endpoint stays down when its
 * check passes again; each source only ever withdraws its own verdict.
 *
 * <p>Ownership: this class only takes back what it took. It marks an endpoint up again only when the endpoint is
 * down with the very reason it set itself ({@link EndpointState#downReason()}, compared by identity); a
 * {@link Health#DOWN} set by someone else (an operator, a future admin API) is left alone, and so is
 * {@link Health#DRAINING} (membership and deploys own it; the sources' verdicts are applied again at their next
 * change or check). When both sources hold an endpoint down, its reason names both, joined by {@code "; "}.
 *
 * <p>Membership follows the cluster's balancer: call {@link #updateEndpoints} with the states that
 * {@code ClusterBalancer.updateEndpoints/reconcile} installed; an endpoint that stays keeps its verdicts and counters,
 * a new one starts unknown (see {@link ActiveHealthChecker} for what that means), a removed one is forgotten.
 *
 * <p>Every change of a source's verdict is logged as one line naming the cluster, the endpoint, what happened and
 * the resulting health. Thread-safe: any method may be called from any thread.
 */
public final class ClusterHealth {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterHealth.class);

    /** Told of membership changes; called under the membership lock, so it must only hand the work over. */
    interface MembershipListener {
        void membersChanged(List<EndpointHealth> added, List<EndpointHealth> removed);
    }

    private final String cluster;
    private final Ticker ticker;
    private final Object membershipLock = new Object();
    private final List<MembershipListener> listeners = new CopyOnWriteArrayList<>();
    /** Immutable once published. */
    private volatile Map<EndpointState, EndpointHealth> byState;
    private volatile List<EndpointHealth> records;
    private volatile ActiveHealthChecker active;
    private volatile OutlierDetector outlier;

    /** With the system clock. */
    public ClusterHealth(String cluster, List<EndpointState> endpoints) {
        this(cluster, endpoints, Ticker.SYSTEM);
    }

    /**
     * @param cluster   for logs and the snapshot
     * @param endpoints the cluster's endpoint states, in membership order
     * @param ticker    the clock of ejection times (the endpoints' own ticker in tests)
     */
    public ClusterHealth(String cluster, List<EndpointState> endpoints, Ticker ticker) {
        this.cluster = Objects.requireNonNull(cluster, "cluster");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.byState = Map.of();
        this.records = List.of();
        updateEndpoints(endpoints);
    }

    public String cluster() {
        return cluster;
    }

    public Ticker ticker() {
        return ticker;
    }

    /** The current members, in membership order. */
    public List<EndpointState> endpoints() {
        List<EndpointHealth> r = records;
        List<EndpointState> out = new ArrayList<>(r.size());
        for (EndpointHealth h : r) {
            out.add(h.state);
        }
        return List.copyOf(out);
    }

    /**
     * Replaces the membership. States already present (the same instance) keep their verdicts and counters; the
     * active checker starts probing new ones and stops probing removed ones.
     */
    public void updateEndpoints(List<EndpointState> endpoints) {
        Objects.requireNonNull(endpoints, "endpoints");
        synchronized (membershipLock) {
            Map<EndpointState, EndpointHealth> old = byState;
            Map<EndpointState, EndpointHealth> next = new IdentityHashMap<>(endpoints.size() * 2);
            List<EndpointHealth> ordered = new ArrayList<>(endpoints.size());
            List<EndpointHealth> added = new ArrayList<>();
            for (EndpointState s : endpoints) {
                Objects.requireNonNull(s, "endpoint state");
                if (next.containsKey(s)) {
                    throw new IllegalArgumentException("endpoint listed twice: " + s.endpoint());
                }
                EndpointHealth h = old.get(s);
                if (h == null) {
                    h = new EndpointHealth(s);
                    added.add(h);
                }
                next.put(s, h);
                ordered.add(h);
            }
            List<EndpointHealth> removed = new ArrayList<>();
            for (EndpointHealth h : old.values()) {
                if (!next.containsKey(h.state)) {
                    h.member = false;
                    removed.add(h);
                }
            }
            byState = Collections.unmodifiableMap(next);
            records = List.copyOf(ordered);
            if (!added.isEmpty() || !removed.isEmpty()) {
                for (MembershipListener l : listeners) {
                    l.membersChanged(added, removed);
                }
            }
        }
    }

    /**
     * Every endpoint's health, for the admin API. Lock-free: each endpoint's fields are read one by one, so a view
     * taken during a change may mix before and after (never more than one change per field).
     */
    public HealthSnapshot snapshot() {
        long now = ticker.nanoTime();
        Instant wallNow = Instant.now();
        ActiveHealthChecker a = active;
        OutlierDetector o = outlier;
        List<EndpointHealth> r = records;
        List<HealthSnapshot.EndpointView> views = new ArrayList<>(r.size());
        for (EndpointHealth h : r) {
            EndpointState s = h.state;
            Health health = s.health();
            // The state's own ticker dates its health changes; it is the cluster's ticker unless a test mixes them.
            long inState = Math.max(0, s.ticker().nanoTime() - s.healthSinceNanos());
            Duration inStateFor = Duration.ofNanos(inState);
            boolean ejected = h.ejected();
            views.add(new HealthSnapshot.EndpointView(
                    s.endpoint(), s.isBackup(), health, s.downReason(), wallNow.minus(inStateFor), inStateFor,
                    a == null ? HealthSnapshot.Check.OFF : h.verdict, h.lastCheck, h.checkSuccesses,
                    h.checkFailures, h.consecutive5xx, h.consecutiveConnectFailures, ejected,
                    ejected ? Duration.ofNanos(Math.max(0, h.ejectedUntil - now)) : Duration.ZERO,
                    o == null ? h.ejectionCount : o.ejectionCount(h, now), h.totalEjections));
        }
        return new HealthSnapshot(cluster, wallNow, a != null, o != null, List.copyOf(views));
    }

    /**
     * Applies both sources' current verdicts to {@code state} again, now: after an operator put it back in service,
     * an endpoint that its checks or outlier detection hold down goes down again at once. No-op for a non-member.
     */
    public void reapply(EndpointState state) {
        EndpointHealth h = find(state);
        if (h != null) {
            apply(h, null);
        }
    }

    // ---------------------------------------------------------------- for the sources

    /** The record of a member, or null (not a member, or no longer one). Lock-free. */
    EndpointHealth find(EndpointState state) {
        return byState.get(state);
    }

    List<EndpointHealth> records() {
        return records;
    }

    /** Registers {@code l} and tells it of the current members, atomically with respect to membership changes. */
    void subscribe(MembershipListener l) {
        synchronized (membershipLock) {
            listeners.add(l);
            if (!records.isEmpty()) {
                l.membersChanged(records, List.of());
            }
        }
    }

    void unsubscribe(MembershipListener l) {
        listeners.remove(l);
    }

    void attach(ActiveHealthChecker checker) {
        synchronized (membershipLock) {
            if (active != null) {
                throw new IllegalStateException("cluster " + cluster + " already has an active health checker");
            }
            active = checker;
        }
    }

    void detach(ActiveHealthChecker checker) {
        synchronized (membershipLock) {
            if (active == checker) {
                active = null;
            }
        }
    }

    void attach(OutlierDetector detector) {
        synchronized (membershipLock) {
            if (outlier != null) {
                throw new IllegalStateException("cluster " + cluster + " already has an outlier detector");
            }
            outlier = detector;
        }
    }

    void detach(OutlierDetector detector) {
        synchronized (membershipLock) {
            if (outlier == detector) {
                outlier = null;
            }
        }
    }

    /**
     * Derives the endpoint's health from the current verdicts of both sources (see the class comment) and, when
     * {@code event} is not null, logs it with the result as one line. Idempotent; safe to call from any thread.
     *
     * @param event what a source just decided ("failed its health check 3 times in a row: ..."), or null when
     *              nothing worth a log line happened (a re-assertion, a new reason for the same verdict)
     */
    void apply(EndpointHealth h, String event) {
        EndpointState s = h.state;
        boolean changed = false;
        Health after;
        String reason;
        synchronized (h) {
            if (!h.member) {
                return;
            }
            String activeReason = h.activeReason;
            String ejectionReason = h.ejectionReason;
            String want = activeReason == null ? ejectionReason
                    : ejectionReason == null ? activeReason : activeReason + "; " + ejectionReason;
            Health now = s.health();
            boolean ours = now == Health.DOWN && h.appliedReason != null && s.downReason() == h.appliedReason;
            if (now == Health.DRAINING) {
                // draining is owned by membership and operators: leave it
            } else if (want != null) {
                if (now == Health.UP || (ours && !want.equals(h.appliedReason))) {
                    h.appliedReason = want;
                    changed = s.markDown(want);
                }
                // down for someone else's reason: theirs to lift
            } else if (ours) {
                h.appliedReason = null;
                changed = s.markUp(); // coming back from DOWN starts slow start
            }
            after = s.health();
            reason = s.downReason();
        }
        if (event == null && !changed) {
            return;
        }
        String e = event != null ? event : "re-applied its health";
        // One line per verdict, with fields a log shipper can filter on: endpoint_down (ejected or failing its
        // check), endpoint_up (restored), or the same with a new reason.
        String name = after == Health.DOWN ? (changed ? "endpoint_down" : "endpoint_still_down")
                : after == Health.UP ? (changed ? "endpoint_up" : "endpoint_still_up") : "endpoint_draining";
        var line = (after == Health.DOWN && changed ? LOG.atWarn() : LOG.atInfo())
                .addKeyValue("event", name).addKeyValue("cluster", cluster)
                .addKeyValue("endpoint", s.endpoint().authority()).addKeyValue("cause", e);
        if (after == Health.DOWN) {
            line.addKeyValue("reason", reason)
                    .log("cluster {}: endpoint {} {}; {} down: {}", cluster, s.endpoint(), e, changed ? "now" : "still",
                            reason);
        } else if (after == Health.UP) {
            line.log("cluster {}: endpoint {} {}; {}", cluster, s.endpoint(), e, changed ? "now up" : "up");
        } else {
            line.log("cluster {}: endpoint {} {}; it is draining", cluster, s.endpoint(), e);
        }
    }

    @Override
    public String toString() {
        return "ClusterHealth{" + cluster + ", " + records.size() + " endpoints}";
    }
}
