package dev.turnpike.metrics;

import dev.turnpike.upstream.cluster.Clusters;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Upstream counters never go backwards when a reload replaces the runtime that counts them. */
class UpstreamMetricsTest {
    @Test
    void aReplacedRuntimesCountCarriesOver() {
        UpstreamMetrics m = new UpstreamMetrics(() -> Clusters.EMPTY);
        Object before = new Object();
        Object after = new Object();
        assertThat(m.monotonic("retries/app", before, 5)).isEqualTo(5);
        assertThat(m.monotonic("retries/app", before, 7)).isEqualTo(7);
        // a reload: the new runtime counts from zero
        assertThat(m.monotonic("retries/app", after, 0)).isEqualTo(7);
        assertThat(m.monotonic("retries/app", after, 3)).isEqualTo(10);
        // another series is independent
        assertThat(m.monotonic("retries/other", after, 1)).isEqualTo(1);
    }
}
