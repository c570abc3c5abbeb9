package dev.turnpike.metrics;

import dev.turnpike.upstream.cluster.Clusters;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.util.internal.PlatformDependent;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.instrumentation.jvm.JvmBufferPoolMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmClassLoadingMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmCompilationMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmGarbageCollectorMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmMemoryMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmNativeMemoryMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmRuntimeInfoMetric;
import io.prometheus.metrics.instrumentation.jvm.JvmThreadsMetrics;
import io.prometheus.metrics.instrumentation.jvm.ProcessMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The metrics of one running server, for its whole life: reloads swap configuration snapshots, but a route, cluster
 * or listener that keeps its name keeps its series (and its counters keep counting). Names and labels are listed in
 * docs/operations.md; labels only ever carry configured names (listener, site, route, cluster, endpoint) or a small
 * fixed set (status class), never a request's path or host, so the number of series is bounded by the configuration.
 *
 * <p>Recording happens at a few single places, each cheap: the end of an exchange ({@link ListenerMetrics#ended}
 * through the route's pre-resolved {@link RouteMeter}), connection accept and close ({@link ListenerMetrics}).
 * Everything the upstream machinery already counts (circuit-breaker trips, retries, ejections, health, pools) is read
 * when scraped, from the current snapshot's clusters ({@link UpstreamMetrics}); JVM and Netty memory likewise.
 *
 * <p>{@link #scrape()} and the dashboard's sampler ({@link #dashboard()}) run off the event loops.
 */
public final class Metrics implements AutoCloseable {
    /** Upper bounds of the request latency histogram, seconds: sub-millisecond proxying up to slow uploads. */
    static final double[] LATENCY_BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
            5, 10};

    /** Status classes by first digit; index 0 is an exchange that ended without a response head. */
    static final String[] STATUS_CLASSES = {"aborted", "1xx", "2xx", "3xx", "4xx", "5xx"};

    static final String[] ROUTE_LABELS = {"listener", "site", "route", "cluster"};
    static final String[] ROUTE_STATUS_LABELS = {"listener", "site", "route", "cluster", "status"};

    /**
     * JVM metrics are the process's, not a server's: one registry for the process, shared by every server. Registering
     * them starts JMX (the platform MBean server, the diagnostic command that reads native memory), some 80 ms of CPU
     * that would delay the first listener: it runs on a thread of its own while the server starts, and the first
     * scrape waits for it.
     *
     * <p>All of the client library's JVM metrics but one: {@code jvm_memory_pool_allocated_bytes_total}, whose GC
     * listener runs on the JVM's notification thread after every young collection, on the core an event loop serves
     * from (0.3 ms each), and held up the collection's end, which the event loop that triggered it waits for: 33 of
     * 80 collections took 0.1 to 1 ms longer to leave the safepoint (383 µs per collection on average over the last
     * 30, safepoint log); without it, 1 of 80 did (1 µs per collection on average).
     */
    private static final CompletableFuture<PrometheusRegistry> JVM = new CompletableFuture<>();

    static {
        Thread.ofPlatform().daemon().name("turnpike-jvm-metrics").start(() -> {
            PrometheusRegistry jvm = new PrometheusRegistry();
            try {
                JvmThreadsMetrics.builder().register(jvm);
                JvmBufferPoolMetrics.builder().register(jvm);
                JvmClassLoadingMetrics.builder().register(jvm);
                JvmCompilationMetrics.builder().register(jvm);
                JvmGarbageCollectorMetrics.builder().register(jvm);
                JvmMemoryMetrics.builder().register(jvm);
                JvmNativeMemoryMetrics.builder().register(jvm);
                JvmRuntimeInfoMetric.builder().register(jvm);
                ProcessMetrics.builder().register(jvm);
            } catch (RuntimeException | LinkageError e) {
                LoggerFactory.getLogger(Metrics.class).warn("JVM metrics are not available: {}", e.toString());
            }
            JVM.complete(jvm);
        });
    }

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final ConcurrentHashMap<String, ListenerMetrics> listeners = new ConcurrentHashMap<>();
    private final AtomicInteger listenerIndexes = new AtomicInteger();

    final Counter requests;
    final LatencyHistogram duration;
    final Counter responseBytes;
    private final RouteMeter unrouted;
    private final UpstreamMetrics upstream;
    private final Dashboard dashboard;

    /**
     * @param allocator the server's buffer allocator, whose memory use is exported
     * @param clusters  the clusters of the current configuration snapshot, read at each scrape
     */
    public Metrics(ByteBufAllocator allocator, Supplier<Clusters> clusters) {
        Objects.requireNonNull(clusters, "clusters");
        requests = Counter.builder().name("turnpike_requests_total")
                .help("Finished requests (exchanges), by listener, site, route, upstream cluster and status class")
                .labelNames(ROUTE_STATUS_LABELS).withoutExemplars().register(registry);
        duration = new LatencyHistogram("turnpike_request_duration_seconds",
                "Time from the request head to the end of the response, by listener, site, route, cluster and"
                        + " status class", ROUTE_STATUS_LABELS, LATENCY_BUCKETS);
        registry.register(duration);
        responseBytes = Counter.builder().name("turnpike_response_body_bytes_total")
                .help("Response body bytes sent, by listener, site, route and cluster")
                .labelNames(ROUTE_LABELS).withoutExemplars().register(registry);
        unrouted = new RouteMeter(this, "", "", List.of());
        registerListenerMetrics();
        registerMemoryMetrics(allocator);
        upstream = new UpstreamMetrics(clusters);
        upstream.register(registry);
        dashboard = new Dashboard(this, clusters);
    }

    /** The listener named {@code name}: the same instance for the server's whole life. */
    public ListenerMetrics listener(String name) {
        return listeners.computeIfAbsent(name, n -> new ListenerMetrics(this, n, listenerIndexes.getAndIncrement()));
    }

    /** How many listener indexes exist now (route meters size their tables with it). */
    int listenerCount() {
        return listenerIndexes.get();
    }

    /**
     * The meter of one route, for a snapshot being compiled.
     *
     * @param site     the site's name
     * @param route    the route's name (configured, or the generated {@code site#index})
     * @param clusters the clusters the route may proxy to (its {@code cluster}, or its {@code split}'s legs)
     */
    public RouteMeter route(String site, String route, List<String> clusters) {
        return new RouteMeter(this, site, route, clusters);
    }

    /** The meter of exchanges no route answered (no site, no route, malformed requests): empty site and route. */
    public RouteMeter unrouted() {
        return unrouted;
    }

    /** The live dashboard's data: per-second history and the clusters' health. */
    public Dashboard dashboard() {
        return dashboard;
    }

    /** Everything, this server's metrics then the process's (JVM), for an exposition format writer. */
    public MetricSnapshots scrape() {
        MetricSnapshots.Builder b = MetricSnapshots.builder();
        for (MetricSnapshot s : registry.scrape()) {
            b.metricSnapshot(s);
        }
        for (MetricSnapshot s : JVM.join().scrape()) {
            b.metricSnapshot(s);
        }
        return b.build();
    }

    /**
     * Reads the upstream counters now (and discards the result), so that a reload loses at most the increments since
     * the last second: their continuity across reloads is kept as of the last read (see {@link UpstreamMetrics}).
     */
    void rememberUpstreamCounters() {
        registry.scrape(name -> name.startsWith(UpstreamMetrics.PREFIX));
    }

    /** This server's registry (without the JVM's), e.g. to add metrics of an embedder. */
    public PrometheusRegistry registry() {
        return registry;
    }

    Collection<ListenerMetrics> listeners() {
        return listeners.values();
    }

    /** Stops the dashboard's sampler and ends its event streams. */
    @Override
    public void close() {
        dashboard.close();
    }

    private void registerListenerMetrics() {
        GaugeWithCallback.builder().name("turnpike_connections_active")
                .help("Client connections open now, by listener")
                .labelNames("listener")
                .callback(cb -> listeners.values().forEach(l -> cb.call(l.activeConnections(), l.name())))
                .register(registry);
        CounterWithCallback.builder().name("turnpike_connections_accepted_total")
                .help("Client connections accepted (and not refused by a connection limit), by listener")
                .labelNames("listener")
                .callback(cb -> listeners.values().forEach(l -> cb.call(l.acceptedConnections(), l.name())))
                .register(registry);
        CounterWithCallback.builder().name("turnpike_connections_refused_total")
                .help("Client connections refused by limits.max_connections (reason listener) or"
                        + " limits.max_connections_per_client (reason client), by listener")
                .labelNames("listener", "reason")
                .callback(cb -> listeners.values().forEach(l -> {
                    cb.call(l.refusedConnections(false), l.name(), "listener");
                    cb.call(l.refusedConnections(true), l.name(), "client");
                }))
                .register(registry);
        CounterWithCallback.builder().name("turnpike_request_body_bytes_total")
                .help("Request body bytes received, by listener (counted as they arrive)")
                .unit(Unit.BYTES).labelNames("listener")
                .callback(cb -> listeners.values().forEach(l -> cb.call(l.requestBodyBytesTotal(), l.name())))
                .register(registry);
        GaugeWithCallback.builder().name("turnpike_http2_streams_active")
                .help("HTTP/2 streams open now, by listener")
                .labelNames("listener")
                .callback(cb -> listeners.values().forEach(l -> cb.call(l.activeStreams(), l.name())))
                .register(registry);
        CounterWithCallback.builder().name("turnpike_http2_streams_total")
                .help("HTTP/2 streams opened, by listener")
                .labelNames("listener")
                .callback(cb -> listeners.values().forEach(l -> cb.call(l.openedStreams(), l.name())))
                .register(registry);
        GaugeWithCallback.builder().name("turnpike_websockets_active")
                .help("WebSockets open now (HTTP/1.1 Upgrade or HTTP/2 extended CONNECT), by listener")
                .labelNames("listener")
                .callback(cb -> listeners.values().forEach(l -> cb.call(l.activeWebSockets(), l.name())))
                .register(registry);
        CounterWithCallback.builder().name("turnpike_websockets_total")
                .help("WebSockets opened (the upstream's 101 passed on to the client), by listener")
                .labelNames("listener")
                .callback(cb -> listeners.values().forEach(l -> cb.call(l.openedWebSockets(), l.name())))
                .register(registry);
        CounterWithCallback.builder().name("turnpike_tls_handshakes_total")
                .help("TLS handshakes completed, by listener")
                .labelNames("listener")
                .callback(cb -> listeners.values().forEach(l -> cb.call(l.tlsHandshakes(), l.name())))
                .register(registry);
        CounterWithCallback.builder().name("turnpike_tls_handshake_failures_total")
                .help("TLS handshakes that failed, by listener")
                .labelNames("listener")
                .callback(cb -> listeners.values().forEach(l -> cb.call(l.tlsHandshakeFailures(), l.name())))
                .register(registry);
    }

    private void registerMemoryMetrics(ByteBufAllocator allocator) {
        ByteBufAllocatorMetric metric = allocator instanceof ByteBufAllocatorMetricProvider p ? p.metric() : null;
        if (metric != null) {
            GaugeWithCallback.builder().name("turnpike_netty_allocator_used_bytes")
                    .help("Memory the server's Netty buffer allocator holds (pooled arenas included), by kind"
                            + " (direct, heap)")
                    .unit(Unit.BYTES).labelNames("kind")
                    .callback(cb -> {
                        cb.call(metric.usedDirectMemory(), "direct");
                        cb.call(metric.usedHeapMemory(), "heap");
                    })
                    .register(registry);
        }
        GaugeWithCallback.builder().name("turnpike_netty_direct_memory_used_bytes")
                .help("Direct memory Netty allocated outside the JVM's buffer pools (-1 when Netty does not count it)")
                .unit(Unit.BYTES)
                .callback(cb -> cb.call(PlatformDependent.usedDirectMemory()))
                .register(registry);
    }

    static int statusClass(int status) {
        int c = status / 100;
        return c >= 1 && c <= 5 ? c : 0;
    }
}
