package dev.turnpike.upstream.lb;

import dev.turnpike.upstream.lb.LbTesting.ManualTicker;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static dev.turnpike.upstream.lb.LbTesting.address;
import static dev.turnpike.upstream.lb.LbTesting.count;
import static dev.turnpike.upstream.lb.LbTesting.endpoints;
import static dev.turnpike.upstream.lb.LbTesting.share;
import static org.assertj.core.api.Assertions.assertThat;

/** What each policy is for, beyond its spread. */
class PolicyBehaviourTest {

    @Test
    void smoothWeightedRoundRobinMatchesNginx() {
        List<EndpointState> eps = endpoints(5, 1, 1);
        LoadBalancer lb = LoadBalancers.create(SmoothWeightedRoundRobin.NAME, eps, LbOptions.DEFAULTS);
        StringBuilder seq = new StringBuilder();
        for (int i = 0; i < 21; i++) {
            seq.append((char) ('a' + eps.indexOf(lb.pickEndpoint(PickContext.EMPTY))));
        }
        assertThat(seq.toString()).isEqualTo("aabacaa".repeat(3));
    }

    @Test
    void smoothWeightedRoundRobinKeepsOneSequencePerThread() throws Exception {
        List<EndpointState> eps = endpoints(5, 1, 1);
        LoadBalancer lb = LoadBalancers.create(SmoothWeightedRoundRobin.NAME, eps, LbOptions.DEFAULTS);
        lb.pick(PickContext.EMPTY); // this thread is one step in
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<CompletableFuture<String>> sequences = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                sequences.add(CompletableFuture.supplyAsync(() -> {
                    StringBuilder seq = new StringBuilder();
                    for (int i = 0; i < 7; i++) {
                        seq.append((char) ('a' + eps.indexOf(lb.pickEndpoint(PickContext.EMPTY))));
                    }
                    return seq.toString();
                }, pool));
            }
            for (CompletableFuture<String> s : sequences) {
                assertThat(s.get()).isEqualTo("aabacaa");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void leastConnectionsPrefersTheLeastLoadedPerWeight() {
        List<EndpointState> eps = endpoints(1, 3, 1);
        LoadBalancer lb = LoadBalancers.create(LeastConnections.NAME, eps, LbOptions.DEFAULTS);
        load(eps.get(0), 2); // 2 / 1 = 2
        load(eps.get(1), 3); // 3 / 3 = 1  <- least loaded for its weight
        load(eps.get(2), 4); // 4 / 1 = 4
        for (int i = 0; i < 100; i++) {
            assertThat(lb.pickEndpoint(PickContext.EMPTY)).isSameAs(eps.get(1));
        }
        load(eps.get(1), 3); // now 6 / 3 = 2, tied with the first: both get picks, the third none
        Map<EndpointState, Integer> counts = count(lb, 10_000, PickContext.EMPTY);
        assertThat(counts.get(eps.get(0))).isBetween(1_000, 9_000);
        assertThat(counts.get(eps.get(1))).isBetween(1_000, 9_000);
        assertThat(counts).doesNotContainKey(eps.get(2));
    }

    @Test
    void leastConnectionsCountsLongLivedConnections() {
        List<EndpointState> eps = endpoints(1, 1);
        LoadBalancer lb = LoadBalancers.create(LeastConnections.NAME, eps, LbOptions.DEFAULTS);
        eps.get(0).onConnectionOpen();
        assertThat(lb.pickEndpoint(PickContext.EMPTY)).isSameAs(eps.get(1));
    }

    @Test
    void powerOfTwoAvoidsSlowAndLoadedEndpoints() {
        ManualTicker ticker = new ManualTicker();
        List<EndpointState> eps = endpoints(EndpointSettings.DEFAULTS.withTicker(ticker), 1, 1, 1, 1);
        EndpointState slow = eps.get(1);
        EndpointState loaded = eps.get(2);
        for (EndpointState e : eps) {
            e.recordLatency(e == slow ? 200_000_000 : 2_000_000);
        }
        load(loaded, 50); // 2 ms × 51 > 200 ms? no: 102 ms, still worse than the idle fast ones (2 ms)
        LoadBalancer lb = LoadBalancers.create(PowerOfTwoChoices.NAME, eps, LbOptions.DEFAULTS);
        int n = 40_000;
        Map<EndpointState, Integer> counts = count(lb, n, PickContext.EMPTY);
        // the slow and the loaded one win only when drawn with each other (1/6 of pairs) and the loaded one wins
        assertThat(share(counts, slow, n)).isLessThan(0.01);
        assertThat(share(counts, loaded, n)).isBetween(0.10, 0.24);
        assertThat(share(counts, eps.get(0), n) + share(counts, eps.get(3), n)).isGreaterThan(0.75);
    }

    @Test
    void powerOfTwoProbesASlowEndpointAgainOnceItsEwmaDecays() {
        ManualTicker ticker = new ManualTicker();
        List<EndpointState> eps = endpoints(EndpointSettings.DEFAULTS.withTicker(ticker), 1, 1);
        eps.get(0).recordLatency(2_000_000);
        eps.get(1).recordLatency(500_000_000);
        LoadBalancer lb = LoadBalancers.create(PowerOfTwoChoices.NAME, eps, LbOptions.DEFAULTS);
        assertThat(count(lb, 1000, PickContext.EMPTY)).doesNotContainKey(eps.get(1));
        ticker.advanceSeconds(120); // the slow one's EWMA decays faster in absolute terms
        eps.get(0).recordLatency(2_000_000);
        assertThat(count(lb, 1000, PickContext.EMPTY)).containsKey(eps.get(1));
    }

    @Test
    void ipHashIsStableAndMovesOnlyTheClientsOfADownEndpoint() {
        List<EndpointState> eps = endpoints(1, 1, 1, 1, 1);
        ClusterBalancer cluster = new ClusterBalancer("c", IpHash.NAME, LbOptions.DEFAULTS, eps);
        int clients = 5_000;
        EndpointState[] before = new EndpointState[clients];
        for (int i = 0; i < clients; i++) {
            BasicPickContext ctx = new BasicPickContext().clientAddress(address(0xC0A80000 + i));
            before[i] = cluster.pick(ctx).endpoint();
            for (int k = 0; k < 3; k++) {
                assertThat(cluster.pick(ctx).endpoint()).isSameAs(before[i]);
            }
        }
        EndpointState down = eps.get(2);
        down.markDown("test");
        int moved = 0;
        for (int i = 0; i < clients; i++) {
            EndpointState now = cluster.pick(new BasicPickContext().clientAddress(address(0xC0A80000 + i)))
                    .endpoint();
            if (before[i] == down) {
                assertThat(now).isNotSameAs(down);
                moved++;
            } else {
                assertThat(now).isSameAs(before[i]);
            }
        }
        assertThat(moved).isBetween(clients / 5 / 2, clients / 5 * 2);
        down.markUp();
        for (int i = 0; i < clients; i++) {
            assertThat(cluster.pick(new BasicPickContext().clientAddress(address(0xC0A80000 + i))).endpoint())
                    .isSameAs(before[i]);
        }
    }

    @Test
    void ipHashHashesIpv6AndFallsBackToRoundRobinWithoutAnAddress() throws Exception {
        List<EndpointState> eps = endpoints(1, 1, 1);
        LoadBalancer lb = LoadBalancers.create(IpHash.NAME, eps, LbOptions.DEFAULTS);
        BasicPickContext v6 = new BasicPickContext().clientAddress(InetAddress.getByName("2001:db8::1"));
        EndpointState first = lb.pickEndpoint(v6);
        assertThat(count(lb, 100, v6)).containsOnlyKeys(first);
        assertThat(count(lb, 3000, PickContext.EMPTY)).allSatisfy((e, c) -> assertThat(c).isEqualTo(1000));
    }

    private static void load(EndpointState e, int requests) {
        for (int i = 0; i < requests; i++) {
            e.onRequestStart();
        }
    }
}
