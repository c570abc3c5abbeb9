package dev.turnpike.upstream.lb;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The load balancing of one cluster, as a cluster holds it: the current {@link BalancerSnapshot} in a volatile
 * field, replaced whole when the membership changes ({@link #updateEndpoints}, {@link #reconcile}) or an endpoint's
 * health does (it listens to its endpoints).
 *
 * <p>Picks ({@link #pick}) are one volatile read plus the policy: lock-free. Writers are serialised on a private
 * lock. Health changes are coalesced: the first one schedules a rebuild on the rebuild executor (by default the
 * thread that changed the health), later ones arriving meanwhile only make it run once more, so a burst of N
 * changes costs about two rebuilds, and a health checker on an event loop never waits behind another rebuild.
 * Picks in between still check health live, so a down endpoint is skipped before the rebuild lands.
 */
public final class ClusterBalancer implements HealthListener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterBalancer.class);

    private final String name;
    private final Executor rebuildExecutor;
    private final Object writeLock = new Object();
    private final AtomicInteger pendingRefreshes = new AtomicInteger();
    private final Runnable drain = this::drainRefreshes;
    private volatile BalancerSnapshot snapshot;
    private volatile boolean closed;

    /** Rebuilds after health changes run on the thread that changed the health. */
    public ClusterBalancer(String name, String policy, LbOptions options, List<EndpointState> endpoints) {
        this(name, policy, options, endpoints, Runnable::run);
    }

    /**
     * @param name            for logs
     * @param rebuildExecutor where rebuilds after health changes run (e.g. the blocking executor, so that a large
     *                        ring is never rebuilt on an event loop); runs them inline if it rejects
     */
    public ClusterBalancer(String name, String policy, LbOptions options, List<EndpointState> endpoints,
                           Executor rebuildExecutor) {
        this.name = Objects.requireNonNull(name, "name");
        this.rebuildExecutor = Objects.requireNonNull(rebuildExecutor, "rebuildExecutor");
        BalancerSnapshot first = BalancerSnapshot.of(policy, endpoints, options);
        synchronized (writeLock) {
            for (EndpointState e : first.endpoints()) {
                e.healthListener(this);
            }
            install(first);
        }
    }

    public String name() {
        return name;
    }

    /** The endpoint for this request, or null when no endpoint can take it. Lock-free. */
    public PickResult pick(PickContext ctx) {
        return snapshot.pick(ctx);
    }

    public BalancerSnapshot snapshot() {
        return snapshot;
    }

    /**
     * Replaces the membership (the list is the new snapshot, in order). Endpoints that join a cluster that already
     * had members start slow start; endpoints that leave are no longer listened to (requests in flight on them
     * finish normally). Synchronous: picks see the new membership when this returns.
     */
    public void updateEndpoints(List<EndpointState> endpoints) {
        synchronized (writeLock) {
            BalancerSnapshot old = snapshot;
            BalancerSnapshot next = old.withEndpoints(endpoints);
            Set<EndpointState> before = identitySet(old.endpoints());
            Set<EndpointState> after = identitySet(next.endpoints());
            for (EndpointState e : next.endpoints()) {
                if (!before.contains(e)) {
                    e.healthListener(this);
                    if (!before.isEmpty()) {
                        e.startSlowStart();
                    }
                }
            }
            for (EndpointState e : old.endpoints()) {
                if (!after.contains(e) && e.healthListener() == this) {
                    e.healthListener(null);
                }
            }
            install(next);
        }
    }

    /**
     * Updates the membership from configuration: an endpoint whose spec (and settings) did not change keeps its
     * state (health, counters, EWMA); others get a new, up state. Returns the new states in spec order.
     */
    public List<EndpointState> reconcile(List<EndpointSpec> specs, EndpointSettings settings) {
        synchronized (writeLock) {
            BalancerSnapshot old = snapshot;
            List<EndpointState> next = new ArrayList<>(specs.size());
            for (EndpointSpec spec : specs) {
                EndpointState current = old.find(spec.endpoint());
                if (current != null && current.weight() == spec.weight() && current.isBackup() == spec.backup()
                        && current.settings().equals(settings)) {
                    next.add(current);
                } else {
                    next.add(new EndpointState(spec.endpoint(), spec.weight(), spec.backup(), settings));
                }
            }
            updateEndpoints(next);
            return List.copyOf(next);
        }
    }

    /** Rebuilds the tables for the current health now. */
    public void refresh() {
        synchronized (writeLock) {
            if (!closed) {
                install(snapshot.refreshed());
            }
        }
    }

    @Override
    public void healthChanged(EndpointState endpoint, Health from, Health to) {
        if (to == Health.DOWN) {
            LOG.debug("cluster {}: endpoint {} is down ({})", name, endpoint.endpoint(), endpoint.downReason());
        } else {
            LOG.debug("cluster {}: endpoint {} is {}", name, endpoint.endpoint(),
                    to == Health.UP ? "up" : "draining");
        }
        if (pendingRefreshes.getAndIncrement() == 0) {
            try {
                rebuildExecutor.execute(drain);
            } catch (RejectedExecutionException e) {
                drainRefreshes();
            }
        }
    }

    private void drainRefreshes() {
        for (;;) {
            int seen = pendingRefreshes.get();
            try {
                refresh();
            } catch (RuntimeException e) {
                LOG.error("cluster {}: rebuilding the load balancer failed", name, e);
            }
            if (pendingRefreshes.compareAndSet(seen, 0)) {
                return;
            }
        }
    }

    private void install(BalancerSnapshot next) {
        BalancerSnapshot old = snapshot;
        snapshot = next;
        boolean wasPanic = old != null && old.panic();
        if (next.panic() && !wasPanic) {
            LOG.warn("cluster {}: no endpoint is up, entering panic mode (picking among all {} non-draining"
                    + " endpoints)", name, next.endpoints().size());
        } else if (!next.panic() && wasPanic) {
            LOG.info("cluster {}: leaving panic mode, {} endpoint(s) up", name, next.upCount());
        }
        if (next.upCount() == 0 && !next.panic() && (old == null || old.upCount() > 0 || old.panic())) {
            LOG.warn("cluster {}: no endpoint can take requests", name);
        }
    }

    /** Stops listening to the endpoints' health. Picks keep working on the last snapshot. */
    @Override
    public void close() {
        synchronized (writeLock) {
            closed = true;
            for (EndpointState e : snapshot.endpoints()) {
                if (e.healthListener() == this) {
                    e.healthListener(null);
                }
            }
        }
    }

    private static Set<EndpointState> identitySet(List<EndpointState> list) {
        Set<EndpointState> s = Collections.newSetFromMap(new IdentityHashMap<>(list.size() * 2));
        s.addAll(list);
        return s;
    }

    @Override
    public String toString() {
        return "ClusterBalancer{" + name + ", " + snapshot + "}";
    }
}
