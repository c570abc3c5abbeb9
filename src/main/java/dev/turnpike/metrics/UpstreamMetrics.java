package dev.turnpike.metrics;

import dev.turnpike.upstream.ConnectionPool;
import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.cluster.CircuitBreaker;
import dev.turnpike.upstream.cluster.ClusterRuntime;
import dev.turnpike.upstream.cluster.Clusters;
import dev.turnpike.upstream.health.HealthSnapshot;
import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.Health;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Upstream metrics, read at scrape time from the current snapshot's clusters: what the upstream machinery already
 * counts (endpoint attempts and failures, outlier ejections, circuit-breaker trips, retries and the retry budget) and
 * what it holds now (endpoint health, pools, requests in flight). Nothing here is on a request's path.
 *
 * <p>A reload builds new cluster runtimes whose counters start at zero. So that a counter never goes backwards for
 * a cluster or endpoint that keeps its name, each exported counter adds what the runtimes it replaced had counted
 * when last read ({@link #monotonic}); increments an old runtime makes after it was last read are lost, which at
 * one read per second (the dashboard's sampler reads them too) is little.
 */
final class UpstreamMetrics {
    /** Every metric here starts with it (and no other does). */
    static final String PREFIX = "turnpike_upstream_";

    private final Supplier<Clusters> clusters;
    /** Per exported counter series: the runtime last read, its value then, and what earlier runtimes counted. */
    private final Map<String, Carry> carries = new HashMap<>();
    private long generation;

    private static final class Carry {
        Object source;
        long last;
        long base;
        long seen;
    }

    UpstreamMetrics(Supplier<Clusters> clusters) {
        this.clusters = clusters;
    }

    void register(PrometheusRegistry registry) {
        GaugeWithCallback.builder().name("turnpike_upstream_endpoint_up")
                .help("1 when the endpoint takes new requests (health up), else 0 (down, ejected or draining)")
                .labelNames("cluster", "endpoint")
                .callback(cb -> forEachEndpoint((c, e, label) -> cb.call(e.health() == Health.UP ? 1 : 0,
                        c.name(), label)))
                .register(registry);
        GaugeWithCallback.builder().name("turnpike_upstream_endpoint_ejected")
                .help("1 while outlier detection holds the endpoint ejected, else 0")
                .labelNames("cluster", "endpoint")
                .callback(cb -> forEachEndpoint((c, e, label) -> cb.call(c.isEjected(e) ? 1 : 0, c.name(), label)))
                .register(registry);
        CounterWithCallback.builder().name("turnpike_upstream_attempts_total")
                .help("Attempts sent to the endpoint (a retried request counts once per attempt)")
                .labelNames("cluster", "endpoint")
                .callback(cb -> forEachEndpoint((c, e, label) -> cb.call(
                        monotonic("attempts/" + c.name() + "/" + label, c, e.totalRequests()), c.name(), label)))
                .register(registry);
        CounterWithCallback.builder().name("turnpike_upstream_attempt_failures_total")
                .help("Attempts to the endpoint that failed (connect errors, resets, timeouts, 5xx)")
                .labelNames("cluster", "endpoint")
                .callback(cb -> forEachEndpoint((c, e, label) -> cb.call(
                        monotonic("failures/" + c.name() + "/" + label, c, e.totalFailures()), c.name(), label)))
                .register(registry);
        CounterWithCallback.builder().name("turnpike_upstream_ejections_total")
                .help("Times outlier detection ejected the endpoint")
                .labelNames("cluster", "endpoint")
                .callback(cb -> forEachCluster(c -> {
                    if (!c.hasOutlierDetection()) {
                        return;
                    }
                    Map<Endpoint, String> labels = endpointLabels(c);
                    for (HealthSnapshot.EndpointView v : c.healthSnapshot().endpoints()) {
                        String label = labels.getOrDefault(v.endpoint(), v.endpoint().authority());
                        cb.call(monotonic("ejections/" + c.name() + "/" + label, c, v.totalEjections()), c.name(),
                                label);
                    }
                }))
                .register(registry);
        GaugeWithCallback.builder().name("turnpike_upstream_pool_connections")
                .help("Upstream connections open now, by state: active (serving a request) or idle (pooled)")
                .labelNames("cluster", "endpoint", "state")
                .callback(cb -> forEachCluster(c -> {
                    Map<Endpoint, String> labels = endpointLabels(c);
                    Map<String, long[]> byEndpoint = poolUse(c, labels);
                    byEndpoint.forEach((label, use) -> {
                        cb.call(Math.max(0, use[0] - use[1]), c.name(), label, "active");
                        cb.call(use[1], c.name(), label, "idle");
                    });
                }))
                .register(registry);
        GaugeWithCallback.builder().name("turnpike_upstream_pool_pending")
                .help("Requests waiting for an upstream connection (pool.max_connections in use)")
                .labelNames("cluster", "endpoint")
                .callback(cb -> forEachCluster(c -> poolUse(c, endpointLabels(c))
                        .forEach((label, use) -> cb.call(use[2], c.name(), label))))
                .register(registry);
        GaugeWithCallback.builder().name("turnpike_upstream_requests_active")
                .help("Requests to the cluster in flight now (what limits.max_requests caps)")
                .labelNames("cluster")
                .callback(cb -> forEachCluster(c -> cb.call(
                        c.circuitBreaker().current(CircuitBreaker.Kind.REQUESTS), c.name())))
                .register(registry);
        CounterWithCallback.builder().name("turnpike_upstream_circuit_breaker_trips_total")
                .help("Requests refused with 503 because a cluster limit was reached, by limit (requests, pending,"
                        + " connections)")
                .labelNames("cluster", "limit")
                .callback(cb -> forEachCluster(c -> {
                    for (CircuitBreaker.Kind k : CircuitBreaker.Kind.values()) {
                        String limit = k.name().toLowerCase(Locale.ROOT);
                        cb.call(monotonic("trips/" + c.name() + "/" + limit, c, c.circuitBreaker().trips(k)),
                                c.name(), limit);
                    }
                }))
                .register(registry);
        CounterWithCallback.builder().name("turnpike_upstream_retries_total")
                .help("Retry attempts sent (allowed by the retry policy and budget)")
                .labelNames("cluster")
                .callback(cb -> forEachCluster(c -> cb.call(
                        monotonic("retries/" + c.name(), c, c.retryBudget().granted()), c.name())))
                .register(registry);
        CounterWithCallback.builder().name("turnpike_upstream_retry_budget_exhausted_total")
                .help("Retries not sent because the cluster's retry budget was exhausted")
                .labelNames("cluster")
                .callback(cb -> forEachCluster(c -> cb.call(
                        monotonic("budget/" + c.name(), c, c.retryBudget().exhausted()), c.name())))
                .register(registry);
        // Last in the registry, so it runs after every counter of this scrape: forgets series no longer configured.
        GaugeWithCallback.builder().name("turnpike_upstream_clusters")
                .help("Upstream clusters configured")
                .callback(cb -> {
                    cb.call(clusters.get().size());
                    prune();
                })
                .register(registry);
    }

    /** The label of each endpoint of {@code c}, by its key: host:port, or unix:PATH for a Unix socket. */
    static Map<Endpoint, String> endpointLabels(ClusterRuntime c) {
        Map<Endpoint, String> labels = new HashMap<>();
        for (EndpointState e : c.endpoints()) {
            labels.put(e.endpoint(), c.target(e).describe());
        }
        return labels;
    }

    /** Open, idle and pending per endpoint label, summed over the event loops' pools. */
    static Map<String, long[]> poolUse(ClusterRuntime c, Map<Endpoint, String> labels) {
        Map<String, long[]> out = new HashMap<>();
        for (ConnectionPool p : c.pools().pools()) {
            String label = labels.getOrDefault(p.endpoint(), p.endpoint().authority());
            long[] use = out.computeIfAbsent(label, l -> new long[3]);
            use[0] += p.openConnections();
            use[1] += p.idleConnections();
            use[2] += p.pendingRequests();
        }
        return out;
    }

    private interface EndpointVisitor {
        void visit(ClusterRuntime cluster, EndpointState endpoint, String label);
    }

    private void forEachCluster(java.util.function.Consumer<ClusterRuntime> visitor) {
        for (ClusterRuntime c : clusters.get().all()) {
            visitor.accept(c);
        }
    }

    private void forEachEndpoint(EndpointVisitor visitor) {
        for (ClusterRuntime c : clusters.get().all()) {
            for (EndpointState e : c.endpoints()) {
                visitor.visit(c, e, c.target(e).describe());
            }
        }
    }

    /**
     * {@code value}, read now from {@code source} (a cluster runtime), plus what the runtimes that held the series
     * before it had counted, so that the series never decreases across reloads.
     */
    synchronized long monotonic(String key, Object source, long value) {
        Carry c = carries.computeIfAbsent(key, k -> new Carry());
        if (c.source != source) {
            if (c.source != null) {
                c.base += c.last;
            }
            c.source = source;
        }
        c.last = value;
        c.seen = generation;
        return c.base + value;
    }

    /** Ends a scrape: series not read in the last two scrapes (their cluster or endpoint is gone) are forgotten. */
    private synchronized void prune() {
        generation++;
        for (Iterator<Carry> it = carries.values().iterator(); it.hasNext(); ) {
            if (generation - it.next().seen > 2) {
                it.remove();
            }
        }
    }
}
