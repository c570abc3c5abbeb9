package dev.turnpike.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;

import java.util.List;

/**
 * The request metrics of one route, made when a configuration snapshot is compiled and reached from the route
 * itself, so that recording an exchange finds its series by array index: listener (its index) by cluster (the
 * route's {@code cluster} or {@code split} legs, compared by identity) by status class. A series is resolved in the
 * registry the first time it is used (so unused combinations export nothing) and kept; after that, recording is a
 * few {@code LongAdder} increments and a {@link LatencyHistogram} observation (plain stores into this thread's cell),
 * without a map lookup or an allocation.
 *
 * <p>Thread-safe: slots are filled racily, but every racer stores the same registry-owned data points.
 */
public final class RouteMeter {
    /**
     * Room for this many listeners at least. Listener indexes beyond the table (listeners added by a later reload,
     * past this many) take the slow path.
     */
    private static final int MIN_LISTENER_SLOTS = 16;

    private final Metrics metrics;
    private final String site;
    private final String route;
    /** Index 0: no cluster (the exchange was not proxied to one); then the route's clusters. */
    private final String[] clusters;
    private final int listenerSlots;
    private final Series[] slots;

    RouteMeter(Metrics metrics, String site, String route, List<String> clusters) {
        this.metrics = metrics;
        this.site = site;
        this.route = route;
        this.clusters = new String[clusters.size() + 1];
        this.clusters[0] = "";
        for (int i = 0; i < clusters.size(); i++) {
            this.clusters[i + 1] = clusters.get(i);
        }
        this.listenerSlots = Math.max(MIN_LISTENER_SLOTS, metrics.listenerCount());
        this.slots = new Series[listenerSlots * this.clusters.length];
    }

    public String site() {
        return site;
    }

    public String route() {
        return route;
    }

    void record(ListenerMetrics listener, String cluster, int status, long durationNanos, long responseBytes) {
        Series s = series(listener, cluster);
        int c = Metrics.statusClass(status);
        CounterDataPoint count = s.requests[c];
        LatencyHistogram.Series latency = s.latency[c];
        if (count == null) {
            String sc = Metrics.STATUS_CLASSES[c];
            count = metrics.requests.labelValues(s.listener, site, route, s.cluster, sc);
            latency = metrics.duration.labelValues(s.listener, site, route, s.cluster, sc);
            s.latency[c] = latency;
            s.requests[c] = count; // published last: a reader that sees it also finds the histogram (or makes it)
        } else if (latency == null) {
            latency = metrics.duration.labelValues(s.listener, site, route, s.cluster, Metrics.STATUS_CLASSES[c]);
        }
        count.inc();
        latency.observe(durationNanos);
        if (responseBytes > 0) {
            s.responseBytes.inc(responseBytes);
        }
    }

    private Series series(ListenerMetrics listener, String cluster) {
        int ci = clusterIndex(cluster);
        int li = listener.index();
        if (ci < 0 || li >= listenerSlots) {
            // Not foreseen when the snapshot was compiled: correct, only slower (a registry lookup per exchange).
            return new Series(metrics, listener.name(), site, route, cluster == null ? "" : cluster);
        }
        int i = li * clusters.length + ci;
        Series s = slots[i];
        if (s == null) {
            s = new Series(metrics, listener.name(), site, route, clusters[ci]);
            slots[i] = s;
        }
        return s;
    }

    private int clusterIndex(String cluster) {
        if (cluster == null) {
            return 0;
        }
        for (int i = 1; i < clusters.length; i++) {
            if (clusters[i] == cluster) {
                return i;
            }
        }
        for (int i = 1; i < clusters.length; i++) {
            if (clusters[i].equals(cluster)) {
                return i;
            }
        }
        return -1;
    }

    /** The data points of one (listener, route, cluster); those per status class are resolved on first use. */
    private static final class Series {
        final String listener;
        final String cluster;
        final CounterDataPoint[] requests = new CounterDataPoint[Metrics.STATUS_CLASSES.length];
        final LatencyHistogram.Series[] latency = new LatencyHistogram.Series[Metrics.STATUS_CLASSES.length];
        final CounterDataPoint responseBytes;

        Series(Metrics metrics, String listener, String site, String route, String cluster) {
            this.listener = listener;
            this.cluster = cluster;
            this.responseBytes = metrics.responseBytes.labelValues(listener, site, route, cluster);
        }
    }

    @Override
    public String toString() {
        return "RouteMeter{" + site + "/" + route + "}";
    }
}
