package dev.turnpike.upstream.lb;

import dev.turnpike.upstream.Endpoint;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * One load-balancer pick from a {@link BalancerSnapshot} of {@code endpoints} healthy endpoints with mixed
 * weights, per policy. Key-based policies hash the client address.
 */
@State(Scope.Thread)
public class PickBenchmark {

    @Param({RoundRobin.NAME, SmoothWeightedRoundRobin.NAME, LeastConnections.NAME, PowerOfTwoChoices.NAME,
            WeightedRandom.NAME, IpHash.NAME, RingHash.NAME, Maglev.NAME})
    public String policy;

    @Param({"4", "64"})
    public int endpoints;

    private BalancerSnapshot snapshot;
    private BasicPickContext ctx;

    @Setup
    public void setUp() throws UnknownHostException {
        List<EndpointState> list = new ArrayList<>();
        for (int i = 0; i < endpoints; i++) {
            list.add(new EndpointState(new Endpoint("10.0." + (i / 250) + "." + (i % 250 + 1), 8080), 1 + i % 3,
                    false, EndpointSettings.DEFAULTS));
        }
        snapshot = BalancerSnapshot.of(policy, list, LbOptions.DEFAULTS);
        ctx = new BasicPickContext().clientAddress(InetAddress.getByName("192.0.2.17")).path("/api/users/42");
    }

    @Benchmark
    public PickResult pick() {
        return snapshot.pick(ctx);
    }
}
