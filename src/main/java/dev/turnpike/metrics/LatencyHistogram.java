package dev.turnpike.metrics;

import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.Unit;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A classic Prometheus histogram of durations whose recording takes no atomic instruction: each thread that records
 * into a series (an event loop, in practice) has a cell of its own in it, written with plain stores, and a scrape
 * adds the cells up. The client library's {@code Histogram} spends three atomic read-modify-writes per observation
 * (bucket, count and sum), locked instructions on x86 that also wait for the core's pending stores; in a profile of
 * proxied requests they were about 1.3% of the CPU. As with Envoy's per-worker histograms, the price is paid by the
 * scrape, which adds up a few cells per series.
 *
 * <p>A scrape reads the cells while they are written. Every value it reads was written whole by some observation
 * (opaque accesses), so the sum it reports and the bucket counts (whose total is the count) can differ by the
 * observations in progress, never by more, and no count goes back between scrapes.
 */
final class LatencyHistogram implements Collector {
    /** Threads beyond this many in one series (not event loops, then) share one cell, under its lock. */
    private static final int MAX_CELLS = 64;
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    private final String name;
    private final String help;
    private final String[] labelNames;
    /** The exported upper bounds, seconds, ending with +Inf. */
    private final double[] upperBounds;
    /** The finite upper bounds, nanoseconds: an observation goes in the first bucket whose bound it does not exceed. */
    private final long[] boundsNanos;
    private final ConcurrentHashMap<List<String>, Series> series = new ConcurrentHashMap<>();

    /**
     * @param name          the metric's name, ending in {@code _seconds}
     * @param boundsSeconds the finite upper bounds, ascending (a +Inf bucket follows them)
     */
    LatencyHistogram(String name, String help, String[] labelNames, double[] boundsSeconds) {
        this.name = name;
        this.help = help;
        this.labelNames = labelNames.clone();
        this.upperBounds = Arrays.copyOf(boundsSeconds, boundsSeconds.length + 1);
        this.upperBounds[boundsSeconds.length] = Double.POSITIVE_INFINITY;
        this.boundsNanos = new long[boundsSeconds.length];
        for (int i = 0; i < boundsSeconds.length; i++) {
            boundsNanos[i] = Math.round(boundsSeconds[i] * 1e9);
        }
    }

    /** The series of these label values (in the order of the label names): the same instance every time. */
    Series labelValues(String... values) {
        if (values.length != labelNames.length) {
            throw new IllegalArgumentException("expected " + labelNames.length + " label values, got " + values.length);
        }
        return series.computeIfAbsent(List.of(values), v -> new Series(this, Labels.of(labelNames, values)));
    }

    @Override
    public String getPrometheusName() {
        return name;
    }

    @Override
    public HistogramSnapshot collect() {
        HistogramSnapshot.Builder b = HistogramSnapshot.builder().name(name).help(help).unit(Unit.SECONDS);
        for (Series s : series.values()) {
            long[] counts = new long[upperBounds.length];
            long sumNanos = s.addUp(counts);
            b.dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder().labels(s.labels)
                    .classicHistogramBuckets(ClassicHistogramBuckets.of(upperBounds, counts)).sum(sumNanos * 1e-9)
                    .build());
        }
        return b.build();
    }

    private int bucketOf(long nanos) {
        long[] bounds = boundsNanos;
        for (int i = 0; i < bounds.length; i++) {
            if (nanos <= bounds[i]) {
                return i;
            }
        }
        return bounds.length;
    }

    /** One label set's data: a cell per recording thread. */
    static final class Series {
        private final LatencyHistogram histogram;
        private final Labels labels;
        /** Copied on write (rarely: once per thread that records here), read by every observation. */
        private volatile Cell[] cells = new Cell[0];
        private Cell shared;

        private Series(LatencyHistogram histogram, Labels labels) {
            this.histogram = histogram;
            this.labels = labels;
        }

        /** Records one duration, in nanoseconds (negative ones count as zero). */
        void observe(long nanos) {
            long d = Math.max(0, nanos);
            int bucket = histogram.bucketOf(d);
            Thread t = Thread.currentThread();
            for (Cell c : cells) {
                if (c.owner == t) {
                    c.add(bucket, d);
                    return;
                }
            }
            Cell mine = cellFor(t);
            if (mine.owner == t) {
                mine.add(bucket, d);
            } else {
                synchronized (mine) {
                    mine.add(bucket, d);
                }
            }
        }

        /** This thread's new cell, or the shared one when the series has as many cells as it takes. */
        private synchronized Cell cellFor(Thread t) {
            if (cells.length < MAX_CELLS) {
                return append(new Cell(t, histogram.upperBounds.length));
            }
            if (shared == null) {
                shared = append(new Cell(null, histogram.upperBounds.length));
            }
            return shared;
        }

        /** Publishes {@code c} to observations and scrapes; called holding this series' lock. */
        private Cell append(Cell c) {
            Cell[] now = cells;
            Cell[] more = Arrays.copyOf(now, now.length + 1);
            more[now.length] = c;
            cells = more;
            return c;
        }

        /** Adds every cell's bucket counts into {@code counts}; returns the sum of the durations, nanoseconds. */
        long addUp(long[] counts) {
            long sum = 0;
            for (Cell c : cells) {
                for (int i = 0; i < counts.length; i++) {
                    counts[i] += (long) LONGS.getOpaque(c.buckets, i);
                }
                sum += (long) Cell.SUM.getOpaque(c);
            }
            return sum;
        }
    }

    /** One thread's counts in one series; only its owner writes it (the shared cell: whoever holds its lock). */
    private static final class Cell {
        static final VarHandle SUM;

        static {
            try {
                SUM = MethodHandles.lookup().findVarHandle(Cell.class, "sumNanos", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final Thread owner;
        final long[] buckets;
        @SuppressWarnings("unused") // through SUM
        private long sumNanos;

        Cell(Thread owner, int buckets) {
            this.owner = owner;
            this.buckets = new long[buckets];
        }

        void add(int bucket, long nanos) {
            LONGS.setOpaque(buckets, bucket, (long) LONGS.getOpaque(buckets, bucket) + 1);
            SUM.setOpaque(this, (long) SUM.getOpaque(this) + nanos);
        }
    }
}
