package dev.turnpike.upstream.lb;

import dev.turnpike.upstream.lb.LbTesting.ManualTicker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.turnpike.upstream.lb.LbTesting.count;
import static dev.turnpike.upstream.lb.LbTesting.endpoint;
import static dev.turnpike.upstream.lb.LbTesting.endpoints;
import static dev.turnpike.upstream.lb.LbTesting.share;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A returning endpoint's share ramps from ~10% of its weight to all of it over the window, for every weighted
 * policy. Two equal endpoints: the returning one's share is f / (1 + f) for slow-start factor f. Time is moved by
 * hand.
 */
class SlowStartTest {
    static final List<String> WEIGHTED = LbTesting.WEIGHTED;
    private static final int N = 20_000;

    private final ManualTicker ticker = new ManualTicker();

    private EndpointSettings settings(double aggression) {
        return EndpointSettings.DEFAULTS.withTicker(ticker).withSlowStart(Duration.ofSeconds(100), aggression, 0.1);
    }

    private static double expectedShare(double f) {
        return f / (1 + f);
    }

    @ParameterizedTest
    @FieldSource("WEIGHTED")
    void aReturningEndpointRampsUpOverTheWindow(String policy) {
        List<EndpointState> eps = endpoints(settings(1.0), 1, 1);
        EndpointState returning = eps.get(1);
        ClusterBalancer cluster = new ClusterBalancer("c", policy, LbOptions.DEFAULTS, eps);
        returning.markDown("restart");
        assertThat(count(cluster.snapshot().balancer(), 1000, PickContext.EMPTY)).doesNotContainKey(returning);
        returning.markUp();
        double[] factors = {0.1, 0.1, 0.25, 0.5, 0.75, 1.0};
        long[] at = {0, 5, 25, 50, 75, 100};
        long t = 0;
        for (int k = 0; k < at.length; k++) {
            ticker.advanceSeconds(at[k] - t);
            t = at[k];
            Map<EndpointState, Integer> counts = count(cluster.snapshot().balancer(), N, PickContext.EMPTY);
            assertThat(share(counts, returning, N)).as("%s share at %ds", policy, t)
                    .isCloseTo(expectedShare(factors[k]), within(0.025));
        }
    }

    @Test
    void aggressionFrontLoadsTheRamp() {
        List<EndpointState> eps = endpoints(settings(2.0), 1, 1);
        LoadBalancer lb = LoadBalancers.create(WeightedRandom.NAME, eps, LbOptions.DEFAULTS);
        eps.get(1).startSlowStart();
        ticker.advanceSeconds(25); // sqrt(0.25) = 0.5
        assertThat(share(count(lb, N, PickContext.EMPTY), eps.get(1), N))
                .isCloseTo(expectedShare(0.5), within(0.025));
    }

    @Test
    void anEndpointJoiningARunningClusterSlowStarts() {
        List<EndpointState> eps = new ArrayList<>(endpoints(settings(1.0), 1));
        ClusterBalancer cluster = new ClusterBalancer("c", RoundRobin.NAME, LbOptions.DEFAULTS, eps);
        assertThat(eps.get(0).isWarming()).isFalse(); // the first members do not
        EndpointState joining = new EndpointState(endpoint(1), 1, false, settings(1.0));
        eps.add(joining);
        cluster.updateEndpoints(eps);
        assertThat(joining.isWarming()).isTrue();
        assertThat(share(count(cluster.snapshot().balancer(), N, PickContext.EMPTY), joining, N))
                .isCloseTo(expectedShare(0.1), within(0.025));
    }
}
