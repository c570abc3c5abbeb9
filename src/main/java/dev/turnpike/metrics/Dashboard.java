package dev.turnpike.metrics;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.cluster.ClusterRuntime;
import dev.turnpike.upstream.cluster.Clusters;
import dev.turnpike.upstream.health.HealthSnapshot;
import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.Health;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * What the live dashboard shows: once a second a sampler turns the request histogram into that second's numbers
 * (requests/s, error rates and latency percentiles per route) plus the clusters' endpoint health, keeps the last
 * {@link #HISTORY_SECONDS} seconds in a ring, and hands each new second, as JSON, to the subscribed event streams.
 *
 * <p>Bounded: the ring holds {@link #HISTORY_SECONDS} samples of at most {@link #MAX_ROUTES} routes each (the busiest),
 * at most {@link #MAX_SUBSCRIBERS} streams are served at once, and the sampler's own state has one entry per route name
 * the server has served. Percentiles are read from the histogram's buckets by linear interpolation, as Prometheus'
 * {@code histogram_quantile} does, so they agree with a Grafana panel over the same data.
 */
public final class Dashboard implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Dashboard.class);
    private static final JsonFactory JSON = new JsonFactory();

    public static final int HISTORY_SECONDS = 300;
    public static final int MAX_ROUTES = 50;
    public static final int MAX_SUBSCRIBERS = 16;

    private final Metrics metrics;
    private final Supplier<Clusters> clusters;
    private final ScheduledExecutorService sampler;
    /** Cumulative per route at the previous sample: count, 4xx, 5xx, then the histogram buckets. */
    private final Map<String, long[]> previous = new HashMap<>();
    private final ArrayDeque<String> history = new ArrayDeque<>(HISTORY_SECONDS);
    private final CopyOnWriteArrayList<Consumer<String>> subscribers = new CopyOnWriteArrayList<>();
    private String lastClusters = "[]";
    private boolean sampled;

    Dashboard(Metrics metrics, Supplier<Clusters> clusters) {
        this.metrics = metrics;
        this.clusters = clusters;
        this.sampler = Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("turnpike-metrics", true));
        sampler.scheduleAtFixedRate(this::sampleQuietly, 1, 1, TimeUnit.SECONDS);
    }

    /**
     * Subscribes {@code events} to each new second's sample ({@code {"sample": ..., "clusters": ...}} as JSON); it is
     * called on the sampler's thread and must hand the text over, not write it there.
     *
     * @return a handle that unsubscribes when closed, or null when {@link #MAX_SUBSCRIBERS} streams are served
     */
    public AutoCloseable subscribe(Consumer<String> events) {
        synchronized (subscribers) {
            if (subscribers.size() >= MAX_SUBSCRIBERS) {
                return null;
            }
            subscribers.add(events);
        }
        return () -> subscribers.remove(events);
    }

    /**
     * The samples kept (oldest first) and the current clusters, as one JSON object for a new stream. Called on event
     * loops: it only holds the ring's lock, never the sampler's.
     */
    public String history() {
        synchronized (history) {
            StringBuilder b = new StringBuilder(64 + history.size() * 256);
            b.append("{\"samples\":[");
            boolean first = true;
            for (String s : history) {
                if (!first) {
                    b.append(',');
                }
                first = false;
                b.append(s);
            }
            return b.append("],\"clusters\":").append(lastClusters).append('}').toString();
        }
    }

    @Override
    public void close() {
        sampler.shutdownNow();
        for (Consumer<String> s : subscribers) {
            try {
                s.accept(null);
            } catch (RuntimeException e) {
                LOG.debug("closing a dashboard stream failed", e);
            }
        }
        subscribers.clear();
    }

    private void sampleQuietly() {
        String event;
        try {
            metrics.rememberUpstreamCounters();
            event = sample(System.currentTimeMillis());
        } catch (RuntimeException e) {
            LOG.warn("dashboard sample failed", e);
            return;
        }
        for (Consumer<String> s : subscribers) {
            try {
                s.accept(event);
            } catch (RuntimeException e) {
                LOG.debug("a dashboard stream could not take a sample", e); // its event loop is shutting down
            }
        }
    }

    /** Takes one sample: the change since the previous one. Returns the event sent to the streams. */
    synchronized String sample(long nowMillis) {
        HistogramSnapshot snapshot = metrics.duration.collect();
        int buckets = Metrics.LATENCY_BUCKETS.length + 1;
        Map<String, long[]> totals = new HashMap<>();
        Map<String, String[]> names = new HashMap<>();
        for (HistogramSnapshot.HistogramDataPointSnapshot p : snapshot.getDataPoints()) {
            Labels l = p.getLabels();
            String site = l.get("site");
            String route = l.get("route");
            String key = site + '\u0000' + route;
            long[] t = totals.computeIfAbsent(key, k -> new long[3 + buckets]);
            names.putIfAbsent(key, new String[] {site, route});
            long count = p.getCount();
            t[0] += count;
            String status = l.get("status");
            if ("4xx".equals(status)) {
                t[1] += count;
            } else if ("5xx".equals(status)) {
                t[2] += count;
            }
            ClassicHistogramBuckets cb = p.getClassicBuckets();
            for (int i = 0; i < cb.size() && i < buckets; i++) {
                t[3 + i] += cb.getCount(i);
            }
        }
        List<RouteSecond> routes = new ArrayList<>();
        long[] all = new long[3 + buckets];
        for (Map.Entry<String, long[]> e : totals.entrySet()) {
            long[] now = e.getValue();
            long[] before = previous.put(e.getKey(), now);
            long[] d = new long[now.length];
            for (int i = 0; i < now.length; i++) {
                d[i] = Math.max(0, now[i] - (before == null ? 0 : before[i]));
            }
            if (d[0] == 0) {
                continue;
            }
            for (int i = 0; i < d.length; i++) {
                all[i] += d[i];
            }
            String[] n = names.get(e.getKey());
            routes.add(new RouteSecond(n[0], n[1], d[0], d[1], d[2], quantile(0.5, d), quantile(0.95, d),
                    quantile(0.99, d)));
        }
        routes.sort(Comparator.comparingLong(RouteSecond::count).reversed().thenComparing(RouteSecond::route));
        if (routes.size() > MAX_ROUTES) {
            routes = routes.subList(0, MAX_ROUTES);
        }
        boolean firstSample = !sampled;
        sampled = true;
        // The first sample holds everything counted before the sampler started: not one second's worth.
        String sampleJson = firstSample ? sampleJson(nowMillis, new long[3 + buckets], List.of())
                : sampleJson(nowMillis, all, routes);
        String clustersJson = clustersJson();
        synchronized (history) {
            lastClusters = clustersJson;
            if (history.size() == HISTORY_SECONDS) {
                history.removeFirst();
            }
            history.addLast(sampleJson);
        }
        return "{\"sample\":" + sampleJson + ",\"clusters\":" + clustersJson + "}";
    }

    private record RouteSecond(String site, String route, long count, long e4, long e5, double p50, double p95,
                               double p99) {}

    /**
     * The {@code q} quantile, in milliseconds, of the latencies counted in {@code d} (count, 4xx, 5xx, then
     * non-cumulative bucket counts): linear within the bucket that holds it; the largest finite bound for the
     * {@code +Inf} bucket.
     */
    static double quantile(double q, long[] d) {
        double[] bounds = Metrics.LATENCY_BUCKETS;
        long count = 0;
        for (int i = 3; i < d.length; i++) {
            count += d[i];
        }
        if (count == 0) {
            return 0;
        }
        double rank = q * count;
        long cumulative = 0;
        for (int i = 0; i < d.length - 3; i++) {
            long inBucket = d[3 + i];
            if (cumulative + inBucket >= rank && inBucket > 0) {
                if (i >= bounds.length) {
                    return bounds[bounds.length - 1] * 1000;
                }
                double lower = i == 0 ? 0 : bounds[i - 1];
                double upper = bounds[i];
                return (lower + (upper - lower) * ((rank - cumulative) / inBucket)) * 1000;
            }
            cumulative += inBucket;
        }
        return bounds[bounds.length - 1] * 1000;
    }

    private String sampleJson(long t, long[] all, List<RouteSecond> routes) {
        long connections = 0;
        for (ListenerMetrics l : metrics.listeners()) {
            connections += l.activeConnections();
        }
        StringWriter out = new StringWriter(128 + routes.size() * 128);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeNumberField("t", t);
            g.writeNumberField("rps", all[0]);
            g.writeNumberField("e4", all[1]);
            g.writeNumberField("e5", all[2]);
            g.writeNumberField("p50", round(quantile(0.5, all)));
            g.writeNumberField("p95", round(quantile(0.95, all)));
            g.writeNumberField("p99", round(quantile(0.99, all)));
            g.writeNumberField("connections", connections);
            g.writeArrayFieldStart("routes");
            for (RouteSecond r : routes) {
                g.writeStartObject();
                g.writeStringField("site", r.site());
                g.writeStringField("route", r.route());
                g.writeNumberField("rps", r.count());
                g.writeNumberField("e4", r.e4());
                g.writeNumberField("e5", r.e5());
                g.writeNumberField("p50", round(r.p50()));
                g.writeNumberField("p95", round(r.p95()));
                g.writeNumberField("p99", round(r.p99()));
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /** Each cluster with each endpoint's state: up, down, ejected or draining, with the reason when not up. */
    private String clustersJson() {
        StringWriter out = new StringWriter(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartArray();
            for (ClusterRuntime c : clusters.get().all()) {
                Map<Endpoint, EndpointState> states = new HashMap<>();
                for (EndpointState e : c.endpoints()) {
                    states.put(e.endpoint(), e);
                }
                g.writeStartObject();
                g.writeStringField("name", c.name());
                g.writeStringField("policy", c.config().loadBalancing().policy());
                g.writeBooleanField("activeChecks", c.hasActiveChecks());
                g.writeBooleanField("outlierDetection", c.hasOutlierDetection());
                g.writeArrayFieldStart("endpoints");
                for (HealthSnapshot.EndpointView v : c.healthSnapshot().endpoints()) {
                    EndpointState s = states.get(v.endpoint());
                    g.writeStartObject();
                    g.writeStringField("address", s != null ? c.target(s).describe() : v.endpoint().authority());
                    g.writeStringField("state", state(v));
                    if (v.reason() != null && v.health() != Health.UP) {
                        g.writeStringField("reason", v.reason());
                    }
                    g.writeBooleanField("backup", v.backup());
                    g.writeNumberField("since", v.since().toEpochMilli());
                    g.writeNumberField("inflight", s != null ? s.inFlight() : 0);
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    static String state(HealthSnapshot.EndpointView v) {
        if (v.ejected()) {
            return "ejected";
        }
        return switch (v.health()) {
            case UP -> "up";
            case DOWN -> "down";
            case DRAINING -> "draining";
        };
    }

    private static double round(double ms) {
        return Math.round(ms * 1000) / 1000.0;
    }
}
