package dev.turnpike.upstream.lb;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

import static dev.turnpike.upstream.lb.LbTesting.endpoint;
import static dev.turnpike.upstream.lb.LbTesting.endpoints;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The snapshot holder and the registry. */
class ClusterBalancerTest {

    @Test
    void healthChangesRebuildTheSnapshot() {
        List<EndpointState> eps = endpoints(1, 1);
        ClusterBalancer c = new ClusterBalancer("c", RoundRobin.NAME, LbOptions.DEFAULTS, eps);
        long g = c.snapshot().generation();
        assertThat(c.snapshot().upCount()).isEqualTo(2);
        eps.get(0).markDown("x");
        assertThat(c.snapshot().generation()).isGreaterThan(g);
        assertThat(c.snapshot().upCount()).isEqualTo(1);
        eps.get(1).markDown("x");
        assertThat(c.snapshot().panic()).isTrue();
        assertThat(c.pick(PickContext.EMPTY).panic()).isTrue();
    }

    @Test
    void healthChangesAreCoalesced() {
        List<Runnable> queued = new ArrayList<>();
        Executor later = queued::add;
        List<EndpointState> eps = endpoints(1, 1, 1, 1);
        ClusterBalancer c = new ClusterBalancer("c", RoundRobin.NAME, LbOptions.DEFAULTS, eps, later);
        long g = c.snapshot().generation();
        for (EndpointState e : eps.subList(0, 3)) {
            e.markDown("burst");
        }
        assertThat(queued).hasSize(1); // one rebuild scheduled for the burst
        assertThat(c.snapshot().generation()).isEqualTo(g);
        queued.getFirst().run(); // the drain sees further changes and rebuilds once more
        assertThat(c.snapshot().generation()).isBetween(g + 1, g + 2);
        assertThat(c.snapshot().upCount()).isEqualTo(1);
        eps.get(0).markUp();
        assertThat(queued).hasSize(2); // the next change schedules again
    }

    @Test
    void membershipChangesSwapTheSnapshotAndTheListeners() {
        List<EndpointState> eps = new ArrayList<>(endpoints(1, 1, 1));
        ClusterBalancer c = new ClusterBalancer("c", WeightedRandom.NAME, LbOptions.DEFAULTS, eps);
        EndpointState leaving = eps.removeFirst();
        c.updateEndpoints(eps);
        assertThat(c.snapshot().endpoints()).containsExactlyElementsOf(eps);
        assertThat(c.snapshot().find(leaving.endpoint())).isNull();
        assertThat(c.snapshot().find(eps.get(0).endpoint())).isSameAs(eps.get(0));
        long g = c.snapshot().generation();
        leaving.markDown("gone"); // no longer listened to
        assertThat(c.snapshot().generation()).isEqualTo(g);
        c.close();
        eps.get(0).markDown("closed");
        assertThat(c.snapshot().generation()).isEqualTo(g);
    }

    @Test
    void reconcileKeepsTheStateOfUnchangedEndpoints() {
        ClusterBalancer c = new ClusterBalancer("c", LeastConnections.NAME, LbOptions.DEFAULTS, List.of());
        assertThat(c.pick(PickContext.EMPTY)).isNull();
        List<EndpointState> first = c.reconcile(List.of(new EndpointSpec(endpoint(0), 1),
                new EndpointSpec(endpoint(1), 2)), EndpointSettings.DEFAULTS);
        first.get(0).onRequestStart();
        List<EndpointState> second = c.reconcile(List.of(new EndpointSpec(endpoint(0), 1),
                new EndpointSpec(endpoint(1), 3), new EndpointSpec(endpoint(2), 1, true)), EndpointSettings.DEFAULTS);
        assertThat(second.get(0)).isSameAs(first.get(0));
        assertThat(second.get(0).inFlight()).isEqualTo(1);
        assertThat(second.get(1)).isNotSameAs(first.get(1));
        assertThat(second.get(1).weight()).isEqualTo(3);
        assertThat(second.get(2).isBackup()).isTrue();
        assertThat(c.snapshot().endpoints()).containsExactlyElementsOf(second);
    }

    @Test
    void theRegistryKnowsEveryPolicyAndRejectsUnknownOnes() {
        assertThat(LoadBalancers.names()).contains("round_robin", "weighted_round_robin", "least_connections",
                "power_of_two", "random", "ip_hash", "consistent_hash", "ring_hash", "maglev", "sticky");
        assertThatThrownBy(() -> LoadBalancers.create("fastest", List.of(), LbOptions.DEFAULTS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fastest")
                .hasMessageContaining("round_robin");
        assertThatThrownBy(() -> LoadBalancers.register("random", (e, o) -> null))
                .isInstanceOf(IllegalStateException.class);
        assertThat(LoadBalancers.create("consistent_hash", endpoints(1), LbOptions.DEFAULTS).policy())
                .isEqualTo("consistent_hash");
    }

    @Test
    void customPoliciesGetTheHealthTiersForFree() {
        LoadBalancers.registerSelector("first_up_test", (tier, options) -> (ctx, avoidTried) -> tier.scan(0, ctx,
                avoidTried));
        List<EndpointState> eps = endpoints(1, 1);
        LoadBalancer lb = LoadBalancers.create("first_up_test", eps, LbOptions.DEFAULTS);
        assertThat(lb.pickEndpoint(PickContext.EMPTY)).isSameAs(eps.get(0));
        eps.get(0).markDraining();
        assertThat(lb.pickEndpoint(PickContext.EMPTY)).isSameAs(eps.get(1));
    }

    @Test
    void picksAllocateNothingAndReuseTheirResults() {
        List<EndpointState> eps = endpoints(1, 1);
        LoadBalancer lb = LoadBalancers.create(LeastConnections.NAME, eps, LbOptions.DEFAULTS);
        PickResult r = lb.pick(PickContext.EMPTY);
        assertThat(PickResult.of(r.endpoint(), false)).isSameAs(r);
        assertThat(r.panic()).isFalse();
        assertThat(r.setCookieName()).isNull();
    }

    @Test
    void anEndpointCannotBeListedTwice() {
        List<EndpointState> eps = List.of(new EndpointState(endpoint(0), 1), new EndpointState(endpoint(0), 2));
        assertThatThrownBy(() -> LoadBalancers.create(RoundRobin.NAME, eps, LbOptions.DEFAULTS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twice");
    }

    @Test
    void optionsAreValidated() {
        assertThatThrownBy(() -> LbOptions.DEFAULTS.withVnodesPerWeight(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LbOptions.DEFAULTS.withSticky("bad name", RoundRobin.NAME))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LbOptions.DEFAULTS.withSticky("ok", Sticky.NAME))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LbOptions.DEFAULTS.withMaglevTableSize(2)).isInstanceOf(IllegalArgumentException.class);
    }
}
