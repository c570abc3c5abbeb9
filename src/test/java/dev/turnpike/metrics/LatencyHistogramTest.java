package dev.turnpike.metrics;

import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Unit;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The per-thread histogram exports what the client library's classic histogram exports for the same observations, and
 * loses none when several threads record while a scraper reads.
 */
class LatencyHistogramTest {
    private static final String NAME = "turnpike_request_duration_seconds";
    private static final String HELP = "Time from the request head to the end of the response";
    private static final String[] LABELS = {"route", "status"};

    @Test
    void exportsTheSameTextAsTheClientLibrarysHistogram() throws IOException {
        PrometheusRegistry ours = new PrometheusRegistry();
        LatencyHistogram h = new LatencyHistogram(NAME, HELP, LABELS, Metrics.LATENCY_BUCKETS);
        ours.register(h);
        PrometheusRegistry theirs = new PrometheusRegistry();
        Histogram reference = Histogram.builder().name(NAME).help(HELP).unit(Unit.SECONDS).labelNames(LABELS)
                .classicOnly().classicUpperBounds(Metrics.LATENCY_BUCKETS).withoutExemplars().register(theirs);

        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 5_000; i++) {
            // microseconds to a minute, whole microseconds so that no value sits on a bound by rounding alone
            long nanos = (long) Math.exp(random.nextDouble(Math.log(1_000), Math.log(60e9))) / 1_000 * 1_000;
            String status = i % 10 == 0 ? "5xx" : "2xx";
            h.labelValues("api", status).observe(nanos);
            reference.labelValues("api", status).observe(nanos * 1e-9);
        }

        String ourText = text(ours);
        String theirText = text(theirs);
        assertThat(ourText).contains(NAME + "_bucket{route=\"api\",status=\"2xx\",le=\"5.0E-4\"}")
                .contains(NAME + "_count{route=\"api\",status=\"5xx\"} 500");
        // The sums are added up in a different order (nanoseconds, converted once), so only their last digits differ.
        assertThat(withoutSums(ourText)).isEqualTo(withoutSums(theirText));
        List<String> ourSums = sums(ourText);
        List<String> theirSums = sums(theirText);
        assertThat(ourSums).hasSize(2).hasSameSizeAs(theirSums);
        for (int i = 0; i < ourSums.size(); i++) {
            double a = Double.parseDouble(ourSums.get(i).substring(ourSums.get(i).lastIndexOf(' ') + 1));
            double b = Double.parseDouble(theirSums.get(i).substring(theirSums.get(i).lastIndexOf(' ') + 1));
            assertThat(ourSums.get(i).substring(0, ourSums.get(i).lastIndexOf(' ')))
                    .isEqualTo(theirSums.get(i).substring(0, theirSums.get(i).lastIndexOf(' ')));
            assertThat(a).isCloseTo(b, org.assertj.core.data.Percentage.withPercentage(1e-9));
        }
    }

    private static String withoutSums(String text) {
        return String.join("\n", text.lines().filter(l -> !l.startsWith(NAME + "_sum")).toList());
    }

    private static List<String> sums(String text) {
        return text.lines().filter(l -> l.startsWith(NAME + "_sum")).toList();
    }

    @Test
    void aDurationOnABoundCountsInThatBucket() {
        LatencyHistogram h = new LatencyHistogram(NAME, HELP, LABELS, new double[] {0.001, 0.01});
        LatencyHistogram.Series s = h.labelValues("api", "2xx");
        s.observe(1_000_000);      // exactly 1 ms: le="0.001"
        s.observe(1_000_001);      // just over: le="0.01"
        s.observe(20_000_000);     // +Inf
        s.observe(-5);             // a clock that stepped back counts as zero
        HistogramSnapshot.HistogramDataPointSnapshot p = h.collect().getDataPoints().getFirst();
        assertThat(p.getClassicBuckets().getCount(0)).isEqualTo(2);
        assertThat(p.getClassicBuckets().getCount(1)).isEqualTo(1);
        assertThat(p.getClassicBuckets().getCount(2)).isEqualTo(1);
        assertThat(p.getCount()).isEqualTo(4);
        assertThat(p.getSum()).isEqualTo(0.022000001, org.assertj.core.data.Offset.offset(1e-12));
    }

    @Test
    void theSameLabelValuesGiveTheSameSeries() {
        LatencyHistogram h = new LatencyHistogram(NAME, HELP, LABELS, Metrics.LATENCY_BUCKETS);
        assertThat(h.labelValues("api", "2xx")).isSameAs(h.labelValues("api", "2xx"))
                .isNotSameAs(h.labelValues("api", "4xx"));
    }

    @Test
    void threadsRecordingAtOnceLoseNothingAndScrapesNeverGoBack() throws Exception {
        LatencyHistogram h = new LatencyHistogram(NAME, HELP, LABELS, Metrics.LATENCY_BUCKETS);
        LatencyHistogram.Series s = h.labelValues("api", "2xx");
        int threads = 70; // more than a series gives cells of their own: the last ones share one
        int each = 20_000;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long nanos = (t % 7 + 1) * 300_000L;
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < each; i++) {
                    s.observe(nanos);
                }
            }));
        }
        AtomicReference<String> wentBack = new AtomicReference<>();
        Thread scraper = Thread.ofPlatform().start(() -> {
            long last = 0;
            while (!Thread.currentThread().isInterrupted()) {
                long count = h.collect().getDataPoints().getFirst().getCount();
                if (count < last) {
                    wentBack.set(last + " then " + count);
                }
                last = count;
            }
        });
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        scraper.interrupt();
        scraper.join();

        assertThat(wentBack.get()).isNull();
        HistogramSnapshot.HistogramDataPointSnapshot p = h.collect().getDataPoints().getFirst();
        assertThat(p.getCount()).isEqualTo((long) threads * each);
        long expectedNanos = 0;
        for (int t = 0; t < threads; t++) {
            expectedNanos += (t % 7 + 1) * 300_000L * each;
        }
        assertThat(p.getSum()).isEqualTo(expectedNanos * 1e-9, org.assertj.core.data.Offset.offset(1e-6));
    }

    private static String text(PrometheusRegistry registry) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
        return out.toString(StandardCharsets.UTF_8);
    }
}
