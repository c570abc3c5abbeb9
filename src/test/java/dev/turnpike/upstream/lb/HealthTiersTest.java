package dev.turnpike.upstream.lb;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static dev.turnpike.upstream.lb.LbTesting.backup;
import static dev.turnpike.upstream.lb.LbTesting.endpoints;
import static dev.turnpike.upstream.lb.LbTesting.keyed;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What every policy shares: up primaries first, then up backups, then panic over the non-draining; draining never;
 * tried endpoints avoided while possible; health read live between rebuilds.
 */
class HealthTiersTest {
    static final List<String> ALL = LbTesting.ALL;
    private static final int PICKS = 3000;

    /** Two primaries (weights 1, 2) and two backups. */
    private static List<EndpointState> cluster() {
        List<EndpointState> eps = new ArrayList<>(endpoints(1, 2));
        eps.add(backup(10, 1));
        eps.add(backup(11, 1));
        return eps;
    }

    /** The endpoints picked over {@link #PICKS} requests with varied keys; asserts the panic flag. */
    private static Set<EndpointState> picked(ClusterBalancer c, boolean panic) {
        Set<EndpointState> seen = new HashSet<>();
        for (int i = 0; i < PICKS; i++) {
            PickResult r = c.pick(keyed(i));
            assertThat(r).isNotNull();
            assertThat(r.panic()).isEqualTo(panic);
            seen.add(r.endpoint());
        }
        return seen;
    }

    @ParameterizedTest
    @FieldSource("ALL")
    void backupsOnlyWhenNoPrimaryIsUpThenPanic(String policy) {
        List<EndpointState> eps = cluster();
        ClusterBalancer c = new ClusterBalancer("c", policy, LbOptions.DEFAULTS, eps);
        assertThat(picked(c, false)).containsExactlyInAnyOrder(eps.get(0), eps.get(1));
        eps.get(0).markDown("x");
        assertThat(picked(c, false)).containsExactly(eps.get(1));
        eps.get(1).markDown("x");
        assertThat(picked(c, false)).containsExactlyInAnyOrder(eps.get(2), eps.get(3));
        eps.get(2).markDown("x");
        assertThat(picked(c, false)).containsExactly(eps.get(3));
        eps.get(3).markDown("x");
        assertThat(c.snapshot().panic()).isTrue();
        assertThat(picked(c, true)).containsExactlyInAnyOrderElementsOf(eps);
        eps.get(1).markUp();
        assertThat(c.snapshot().panic()).isFalse();
        assertThat(picked(c, false)).containsExactly(eps.get(1));
    }

    @ParameterizedTest
    @FieldSource("ALL")
    void drainingIsNeverPickedNotEvenInPanic(String policy) {
        List<EndpointState> eps = endpoints(3, 1, 1);
        ClusterBalancer c = new ClusterBalancer("c", policy, LbOptions.DEFAULTS, eps);
        eps.get(0).markDraining();
        assertThat(picked(c, false)).containsExactlyInAnyOrder(eps.get(1), eps.get(2));
        eps.get(1).markDown("x");
        eps.get(2).markDown("x");
        assertThat(picked(c, true)).containsExactlyInAnyOrder(eps.get(1), eps.get(2));
        eps.get(1).markDraining();
        eps.get(2).markDraining();
        assertThat(c.pick(keyed(1))).isNull();
    }

    @ParameterizedTest
    @FieldSource("ALL")
    void anEmptyClusterPicksNothing(String policy) {
        assertThat(LoadBalancers.create(policy, List.of(), LbOptions.DEFAULTS).pick(keyed(1))).isNull();
    }

    @ParameterizedTest
    @FieldSource("ALL")
    void retriesAvoidTriedEndpointsWhilePossible(String policy) {
        List<EndpointState> eps = endpoints(1, 2, 3);
        LoadBalancer lb = LoadBalancers.create(policy, eps, LbOptions.DEFAULTS);
        for (int i = 0; i < 500; i++) {
            BasicPickContext ctx = keyed(i);
            Set<EndpointState> tried = new HashSet<>();
            for (int attempt = 0; attempt < 3; attempt++) {
                EndpointState e = lb.pickEndpoint(ctx);
                assertThat(tried).doesNotContain(e);
                tried.add(e);
                ctx.tried(e);
            }
            assertThat(lb.pickEndpoint(ctx)).isIn(eps); // all tried: still an answer
        }
    }

    @ParameterizedTest
    @FieldSource("ALL")
    void retriesMoveToBackupsOnceEveryPrimaryWasTried(String policy) {
        List<EndpointState> eps = cluster();
        LoadBalancer lb = LoadBalancers.create(policy, eps, LbOptions.DEFAULTS);
        BasicPickContext ctx = keyed(7).tried(eps.get(0)).tried(eps.get(1));
        assertThat(lb.pickEndpoint(ctx)).isIn(eps.get(2), eps.get(3));
    }

    @ParameterizedTest
    @FieldSource("ALL")
    void healthIsReadLiveBeforeTheRebuild(String policy) {
        // no ClusterBalancer: the balancer's snapshot still lists the endpoint as up
        List<EndpointState> eps = cluster();
        LoadBalancer lb = LoadBalancers.create(policy, eps, LbOptions.DEFAULTS);
        eps.get(0).markDown("x");
        for (int i = 0; i < PICKS; i++) {
            assertThat(lb.pickEndpoint(keyed(i))).isSameAs(eps.get(1));
        }
        eps.get(1).markDraining();
        for (int i = 0; i < PICKS; i++) {
            PickResult r = lb.pick(keyed(i));
            assertThat(r.endpoint()).isIn(eps.get(2), eps.get(3));
        }
        eps.get(2).markDown("x");
        eps.get(3).markDown("x");
        PickResult r = lb.pick(keyed(1));
        assertThat(r.endpoint()).isIn(eps.get(0), eps.get(2), eps.get(3));
        assertThat(r.panic()).isTrue();
    }
}
