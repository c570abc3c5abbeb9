package dev.turnpike.upstream.lb;

import dev.turnpike.upstream.Endpoint;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a cluster balances over at one moment: the endpoint list, the policy built on it, and a lookup by
 * {@link Endpoint}. Immutable; a membership or health change makes a new one ({@link #withEndpoints},
 * {@link #refreshed}) that is swapped in by reference, so a pick reads one volatile field and never sees a
 * half-built table.
 */
public final class BalancerSnapshot {
    private final long generation;
    private final LoadBalancer balancer;
    private final Map<Endpoint, EndpointState> byEndpoint;
    private final int upCount;
    private final boolean panic;

    private BalancerSnapshot(long generation, LoadBalancer balancer) {
        this.generation = generation;
        this.balancer = balancer;
        List<EndpointState> endpoints = balancer.endpoints();
        Map<Endpoint, EndpointState> map = new HashMap<>(endpoints.size() * 2);
        int up = 0;
        boolean anyNonDraining = false;
        for (EndpointState e : endpoints) {
            map.put(e.endpoint(), e);
            up += e.isUp() ? 1 : 0;
            anyNonDraining |= !e.isDraining();
        }
        this.byEndpoint = Map.copyOf(map);
        this.upCount = up;
        this.panic = up == 0 && anyNonDraining;
    }

    /** A first snapshot. */
    public static BalancerSnapshot of(String policy, List<EndpointState> endpoints, LbOptions options) {
        return new BalancerSnapshot(0, LoadBalancers.create(policy, endpoints, options));
    }

    public PickResult pick(PickContext ctx) {
        return balancer.pick(ctx);
    }

    /** Same policy and options over a new membership. */
    public BalancerSnapshot withEndpoints(List<EndpointState> endpoints) {
        LoadBalancers.checkDistinct(endpoints);
        return new BalancerSnapshot(generation + 1, balancer.rebuild(endpoints));
    }

    /** Same membership, tables rebuilt for the current health. */
    public BalancerSnapshot refreshed() {
        return new BalancerSnapshot(generation + 1, balancer.rebuild(balancer.endpoints()));
    }

    public List<EndpointState> endpoints() {
        return balancer.endpoints();
    }

    public String policy() {
        return balancer.policy();
    }

    public LoadBalancer balancer() {
        return balancer;
    }

    /** The state of {@code endpoint} in this snapshot, or null. */
    public EndpointState find(Endpoint endpoint) {
        return byEndpoint.get(endpoint);
    }

    /** Increments with each rebuild. */
    public long generation() {
        return generation;
    }

    /** Endpoints up when this snapshot was built. */
    public int upCount() {
        return upCount;
    }

    /** Nothing was up but something was not draining when this snapshot was built: picks are in panic mode. */
    public boolean panic() {
        return panic;
    }

    @Override
    public String toString() {
        return "BalancerSnapshot#" + generation + "{" + balancer + "}";
    }
}
