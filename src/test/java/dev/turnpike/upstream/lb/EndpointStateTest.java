package dev.turnpike.upstream.lb;

import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.lb.LbTesting.ManualTicker;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The runtime state of one endpoint: weight bounds, health transitions, counters, latency EWMA, slow start. */
class EndpointStateTest {
    private final ManualTicker ticker = new ManualTicker();
    private final EndpointSettings settings = EndpointSettings.DEFAULTS.withTicker(ticker)
            .withSlowStart(Duration.ofSeconds(100), 1.0, 0.1);
    private final Endpoint endpoint = new Endpoint("10.0.0.1", 80);

    @Test
    void weightIsBounded() {
        assertThatThrownBy(() -> new EndpointState(endpoint, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new EndpointState(endpoint, 1001)).isInstanceOf(IllegalArgumentException.class);
        assertThat(new EndpointState(endpoint, 1000).weight()).isEqualTo(1000);
    }

    @Test
    void healthTransitionsAreReportedOnce() {
        EndpointState e = new EndpointState(endpoint, 1, false, settings);
        List<String> seen = new ArrayList<>();
        e.healthListener((s, from, to) -> seen.add(from + ">" + to));
        assertThat(e.isUp()).isTrue();
        assertThat(e.markUp()).isFalse();
        assertThat(e.markDown("connect refused")).isTrue();
        assertThat(e.downReason()).isEqualTo("connect refused");
        assertThat(e.markDown("timeout")).isFalse();
        assertThat(e.downReason()).isEqualTo("timeout");
        assertThat(e.markDraining()).isTrue();
        assertThat(e.downReason()).isNull();
        assertThat(e.markUp()).isTrue();
        assertThat(seen).containsExactly("UP>DOWN", "DOWN>DRAINING", "DRAINING>UP");
    }

    @Test
    void countersTrackRequestsAndConnections() {
        EndpointState e = new EndpointState(endpoint, 1, false, settings);
        e.onRequestStart();
        e.onRequestStart();
        e.onConnectionOpen();
        assertThat(e.inFlight()).isEqualTo(2);
        assertThat(e.activeConnections()).isEqualTo(1);
        assertThat(e.load()).isEqualTo(3);
        e.onRequestEnd(1_000_000, true);
        e.onRequestEnd(1_000_000, true);
        assertThat(e.consecutiveFailures()).isEqualTo(2);
        e.onRequestStart();
        e.onRequestEnd(1_000_000, false);
        e.onConnectionClose();
        assertThat(e.load()).isZero();
        assertThat(e.consecutiveFailures()).isZero();
        assertThat(e.totalRequests()).isEqualTo(3);
        assertThat(e.totalFailures()).isEqualTo(2);
    }

    @Test
    void ewmaTakesPeaksAtOnceAndDecaysWithTime() {
        EndpointState e = new EndpointState(endpoint, 1, false, settings); // tau = 10 s
        assertThat(e.latencyEwmaNanos()).isZero();
        e.recordLatency(10_000_000);
        assertThat(e.latencyEwmaNanos()).isCloseTo(10e6, within(10e6 * 1e-4));
        e.recordLatency(50_000_000); // a peak replaces the value
        assertThat(e.latencyEwmaNanos()).isCloseTo(50e6, within(50e6 * 1e-4));
        ticker.advanceSeconds(10); // one tau: read value decays by 1/e
        assertThat(e.latencyEwmaNanos()).isCloseTo(50e6 / Math.E, within(50e6 * 1e-3));
        e.recordLatency(10_000_000); // blended with weight 1 - 1/e
        double expected = 50e6 / Math.E + 10e6 * (1 - 1 / Math.E);
        assertThat(e.latencyEwmaNanos()).isCloseTo(expected, within(expected * 1e-3));
        ticker.advanceSeconds(1000);
        assertThat(e.latencyEwmaNanos()).isLessThan(1);
    }

    @Test
    void fastFailuresCountAsSlow() {
        EndpointState e = new EndpointState(endpoint, 1, false,
                settings.withFailurePenalty(Duration.ofMillis(500)));
        e.onRequestStart();
        e.onRequestEnd(100_000, true);
        assertThat(e.latencyEwmaNanos()).isCloseTo(500e6, within(500e6 * 1e-4));
    }

    @Test
    void slowStartRampsLinearlyFromTheMinimum() {
        EndpointState e = new EndpointState(endpoint, 10, false, settings);
        assertThat(e.slowStartFactor()).isEqualTo(1.0);
        e.markDown("check failed");
        e.markUp();
        assertThat(e.isWarming()).isTrue();
        assertThat(e.slowStartFactor()).isEqualTo(0.1);
        ticker.advanceSeconds(50);
        assertThat(e.slowStartFactor()).isCloseTo(0.5, within(1e-9));
        assertThat(e.effectiveWeight()).isCloseTo(5.0, within(1e-9));
        ticker.advanceSeconds(50);
        assertThat(e.slowStartFactor()).isEqualTo(1.0);
        assertThat(e.isWarming()).isFalse();
    }

    @Test
    void aggressiveSlowStartIsFrontLoaded() {
        EndpointState e = new EndpointState(endpoint, 1, false, EndpointSettings.DEFAULTS.withTicker(ticker)
                .withSlowStart(Duration.ofSeconds(100), 2.0, 0.1));
        e.startSlowStart();
        ticker.advanceSeconds(25);
        assertThat(e.slowStartFactor()).isCloseTo(0.5, within(1e-9)); // sqrt(0.25)
    }

    @Test
    void returningFromDrainingDoesNotSlowStart() {
        EndpointState e = new EndpointState(endpoint, 1, false, settings);
        e.markDraining();
        e.markUp();
        assertThat(e.isWarming()).isFalse();
    }

    @Test
    void initiallyDownEndpointsSlowStartOnFirstUp() {
        EndpointState e = new EndpointState(endpoint, 1, false, settings, Health.DOWN, "not checked yet");
        assertThat(e.downReason()).isEqualTo("not checked yet");
        e.markUp();
        assertThat(e.isWarming()).isTrue();
    }

    @Test
    void noSlowStartWithoutAWindow() {
        EndpointState e = new EndpointState(endpoint, 1);
        e.markDown("x");
        e.markUp();
        assertThat(e.isWarming()).isFalse();
    }
}
