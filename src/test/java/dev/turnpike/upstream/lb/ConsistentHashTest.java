package dev.turnpike.upstream.lb;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import static dev.turnpike.upstream.lb.LbTesting.count;
import static dev.turnpike.upstream.lb.LbTesting.endpoint;
import static dev.turnpike.upstream.lb.LbTesting.keyed;
import static dev.turnpike.upstream.lb.LbTesting.uniform;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Ring and Maglev: minimal disruption, spread, every key source, the fallback without a key. */
class ConsistentHashTest {
    private static final int KEYS = 100_000;
    private static final int N = 10;

    static final List<LbOptions.HashTable> TABLES = List.of(LbOptions.HashTable.RING, LbOptions.HashTable.MAGLEV);

    private static LbOptions options(LbOptions.HashTable table) {
        return LbOptions.DEFAULTS.withHashTable(table).withHashKey(HashKey.header("X-User"));
    }

    /** The endpoint (as host:port) of each key. */
    private static String[] map(LoadBalancer lb) {
        String[] owners = new String[KEYS];
        BasicPickContext ctx = new BasicPickContext();
        for (int i = 0; i < KEYS; i++) {
            ctx.header("X-User", "user-" + i);
            owners[i] = lb.pickEndpoint(ctx).endpoint().authority();
        }
        return owners;
    }

    private static double moved(String[] a, String[] b) {
        int moved = 0;
        for (int i = 0; i < a.length; i++) {
            moved += a[i].equals(b[i]) ? 0 : 1;
        }
        return moved / (double) a.length;
    }

    @ParameterizedTest
    @FieldSource("TABLES")
    void addingOneOfNRemapsAboutOneNth(LbOptions.HashTable table) {
        List<EndpointState> eps = uniform(N);
        String[] before = map(LoadBalancers.create(LoadBalancers.CONSISTENT_HASH, eps, options(table)));
        List<EndpointState> more = new ArrayList<>(eps);
        more.add(new EndpointState(endpoint(N), 1));
        String[] after = map(LoadBalancers.create(LoadBalancers.CONSISTENT_HASH, more, options(table)));
        double f = moved(before, after);
        assertThat(f).as("moved fraction").isBetween(0.5 / (N + 1), 1.6 / (N + 1));
        for (int i = 0; i < KEYS; i++) { // only to the new endpoint, never between old ones (ring); Maglev: mostly
            if (!before[i].equals(after[i]) && table == LbOptions.HashTable.RING) {
                assertThat(after[i]).isEqualTo(endpoint(N).authority());
            }
        }
    }

    @ParameterizedTest
    @FieldSource("TABLES")
    void removingOneOfNRemapsAboutOneNth(LbOptions.HashTable table) {
        List<EndpointState> eps = uniform(N);
        String[] before = map(LoadBalancers.create(LoadBalancers.CONSISTENT_HASH, eps, options(table)));
        List<EndpointState> fewer = new ArrayList<>(eps);
        EndpointState removed = fewer.remove(3);
        String[] after = map(LoadBalancers.create(LoadBalancers.CONSISTENT_HASH, fewer, options(table)));
        assertThat(moved(before, after)).as("moved fraction").isBetween(0.5 / N, 1.6 / N);
        if (table == LbOptions.HashTable.RING) {
            for (int i = 0; i < KEYS; i++) {
                if (!before[i].equals(after[i])) {
                    assertThat(before[i]).isEqualTo(removed.endpoint().authority());
                }
            }
        }
    }

    @ParameterizedTest
    @FieldSource("TABLES")
    void aDownEndpointMovesOnlyItsKeysAndGetsThemBack(LbOptions.HashTable table) {
        List<EndpointState> eps = uniform(N);
        ClusterBalancer cluster = new ClusterBalancer("c", LoadBalancers.CONSISTENT_HASH, options(table), eps);
        String[] before = map(cluster.snapshot().balancer());
        eps.get(5).markDown("test");
        String[] during = map(cluster.snapshot().balancer());
        assertThat(moved(before, during)).isBetween(0.5 / N, 1.6 / N);
        eps.get(5).markUp();
        assertThat(map(cluster.snapshot().balancer())).isEqualTo(before);
    }

    @ParameterizedTest
    @FieldSource("TABLES")
    void keysSpreadEvenly(LbOptions.HashTable table) {
        List<EndpointState> eps = uniform(N);
        LoadBalancer lb = LoadBalancers.create(LoadBalancers.CONSISTENT_HASH, eps, options(table));
        Map<String, Integer> counts = new HashMap<>();
        for (String owner : map(lb)) {
            counts.merge(owner, 1, Integer::sum);
        }
        assertThat(counts).hasSize(N);
        // deterministic; 160 points per endpoint: within 15% of the mean on a ring (measured: 7.2%), Maglev
        // within 5% (measured: 2.7%)
        double tolerance = table == LbOptions.HashTable.RING ? 0.15 : 0.05;
        for (int c : counts.values()) {
            assertThat(c / (double) (KEYS / N)).isCloseTo(1.0, within(tolerance));
        }
    }

    @Test
    void maglevTableIsAPrimeOfAtLeastAHundredPerEndpoint() {
        Tier tier = new Tier(uniform(1000), uniform(1000), false);
        Maglev m = new Maglev(tier, LbOptions.DEFAULTS);
        assertThat(m.tableSize()).isGreaterThanOrEqualTo(100_000);
        assertThat(Maglev.isPrime(m.tableSize())).isTrue();
        assertThat(new Maglev(new Tier(uniform(3), uniform(3), false), LbOptions.DEFAULTS.withMaglevTableSize(1000))
                .tableSize()).isEqualTo(1009);
    }

    @Test
    void ringPointsFollowWeightsAndTheCap() {
        Tier tier = new Tier(LbTesting.endpoints(100, 200, 300), LbTesting.endpoints(100, 200, 300), false);
        assertThat(new RingHash(tier, LbOptions.DEFAULTS).size()).isEqualTo(6 * 160); // gcd 100
        Tier heavy = new Tier(LbTesting.endpoints(999, 1000), LbTesting.endpoints(999, 1000), false);
        assertThat(new RingHash(heavy, LbOptions.DEFAULTS.withMaxRingSize(4096)).size()).isLessThanOrEqualTo(4096);
    }

    @ParameterizedTest
    @FieldSource("TABLES")
    void everyKeySourceIsStable(LbOptions.HashTable table) {
        List<EndpointState> eps = uniform(N);
        for (HashKey key : List.of(HashKey.CLIENT_ADDRESS, HashKey.PATH, HashKey.header("x-user"),
                HashKey.cookie("session"), HashKey.queryParam("id"))) {
            LoadBalancer lb = LoadBalancers.create(LoadBalancers.CONSISTENT_HASH, eps,
                    LbOptions.DEFAULTS.withHashTable(table).withHashKey(key));
            Map<EndpointState, Integer> spread = new IdentityHashMap<>();
            for (int i = 0; i < 2000; i++) {
                EndpointState e = lb.pickEndpoint(keyed(i));
                assertThat(lb.pickEndpoint(keyed(i))).as("%s", key).isSameAs(e);
                spread.merge(e, 1, Integer::sum);
            }
            assertThat(spread).as("%s", key).hasSize(N);
        }
    }

    @ParameterizedTest
    @FieldSource("TABLES")
    void anAbsentKeyFallsBackToRoundRobin(LbOptions.HashTable table) {
        List<EndpointState> eps = uniform(4);
        LoadBalancer lb = LoadBalancers.create(LoadBalancers.CONSISTENT_HASH, eps, options(table));
        assertThat(count(lb, 4000, PickContext.EMPTY)).allSatisfy((e, c) -> assertThat(c).isEqualTo(1000));
        BasicPickContext empty = new BasicPickContext().header("X-User", "");
        assertThat(count(lb, 4000, empty)).allSatisfy((e, c) -> assertThat(c).isEqualTo(1000));
    }

    @Test
    void mappingIsTheSameOnEveryInstance() {
        // Two independently built balancers (as on two Turnpike instances) agree key by key.
        LoadBalancer a = LoadBalancers.create(RingHash.NAME, uniform(N), options(LbOptions.HashTable.RING));
        LoadBalancer b = LoadBalancers.create(RingHash.NAME, uniform(N), options(LbOptions.HashTable.RING));
        assertThat(map(a)).isEqualTo(map(b));
        LoadBalancer c = LoadBalancers.create(Maglev.NAME, uniform(N), options(LbOptions.HashTable.MAGLEV));
        LoadBalancer d = LoadBalancers.create(Maglev.NAME, uniform(N), options(LbOptions.HashTable.MAGLEV));
        assertThat(map(c)).isEqualTo(map(d));
    }

    @Test
    void hashKeysParse() {
        assertThat(HashKey.parse("client_address")).isEqualTo(HashKey.CLIENT_ADDRESS);
        assertThat(HashKey.parse("ip")).isEqualTo(HashKey.CLIENT_ADDRESS);
        assertThat(HashKey.parse("path")).isEqualTo(HashKey.PATH);
        assertThat(HashKey.parse("header:X-User")).isEqualTo(HashKey.header("X-User"));
        assertThat(HashKey.parse("cookie: sid")).isEqualTo(HashKey.cookie("sid"));
        assertThat(HashKey.parse("query:id")).isEqualTo(HashKey.queryParam("id"));
        assertThat(HashKey.parse("query:id").toString()).isEqualTo("query:id");
        for (String bad : List.of("header", "header:", "path:x", "body", "")) {
            assertThatThrownBy(() -> HashKey.parse(bad))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
