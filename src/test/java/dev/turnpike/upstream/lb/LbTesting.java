package dev.turnpike.upstream.lb;

import dev.turnpike.upstream.Endpoint;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** Helpers shared by the load balancing tests. */
final class LbTesting {

    /** Every built-in policy that picks by weight or load (no key needed). */
    static final List<String> WEIGHTED = List.of(RoundRobin.NAME, SmoothWeightedRoundRobin.NAME,
            LeastConnections.NAME, PowerOfTwoChoices.NAME, WeightedRandom.NAME);

    /** Every built-in policy. */
    static final List<String> ALL = List.of(RoundRobin.NAME, SmoothWeightedRoundRobin.NAME, LeastConnections.NAME,
            PowerOfTwoChoices.NAME, WeightedRandom.NAME, IpHash.NAME, LoadBalancers.CONSISTENT_HASH,
            RingHash.NAME, Maglev.NAME, Sticky.NAME);

    private LbTesting() {
    }

    /** A clock the test moves by hand. */
    static final class ManualTicker implements Ticker {
        private final AtomicLong now = new AtomicLong(1_000_000_000_000L);

        @Override
        public long nanoTime() {
            return now.get();
        }

        void advanceMillis(long ms) {
            now.addAndGet(ms * 1_000_000L);
        }

        void advanceSeconds(long s) {
            advanceMillis(s * 1000);
        }
    }

    static Endpoint endpoint(int i) {
        return new Endpoint("10.0." + (i / 250) + "." + (i % 250 + 1), 8080);
    }

    static List<EndpointState> endpoints(int... weights) {
        return endpoints(EndpointSettings.DEFAULTS, weights);
    }

    static List<EndpointState> endpoints(EndpointSettings settings, int... weights) {
        List<EndpointState> list = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            list.add(new EndpointState(endpoint(i), weights[i], false, settings));
        }
        return list;
    }

    static List<EndpointState> uniform(int n) {
        int[] w = new int[n];
        Arrays.fill(w, 1);
        return endpoints(w);
    }

    static EndpointState backup(int i, int weight) {
        return new EndpointState(endpoint(i), weight, true, EndpointSettings.DEFAULTS);
    }

    /** Picks {@code n} times with {@code ctx} and counts the endpoints. */
    static Map<EndpointState, Integer> count(LoadBalancer lb, int n, PickContext ctx) {
        Map<EndpointState, Integer> counts = new IdentityHashMap<>();
        for (int i = 0; i < n; i++) {
            PickResult r = lb.pick(ctx);
            counts.merge(r.endpoint(), 1, Integer::sum);
        }
        return counts;
    }

    static double share(Map<EndpointState, Integer> counts, EndpointState e, int n) {
        return counts.getOrDefault(e, 0) / (double) n;
    }

    static InetAddress address(int i) {
        try {
            return InetAddress.getByAddress(new byte[] {(byte) (i >>> 24), (byte) (i >>> 16), (byte) (i >>> 8),
                    (byte) i});
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** A context that gives a policy every kind of key it may hash on, derived from {@code i}. */
    static BasicPickContext keyed(int i) {
        return new BasicPickContext().clientAddress(address(0x0A000000 + i)).header("X-User", "user-" + i)
                .cookie("session", "s" + i).path("/items/" + i).queryParam("id", Integer.toString(i));
    }
}
