package dev.turnpike.upstream.lb;

import dev.turnpike.upstream.Endpoint;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The policy registry: configuration names to factories. Built in:
 *
 * <ul>
 *   <li>{@code round_robin} ({@link RoundRobin}), {@code weighted_round_robin} ({@link SmoothWeightedRoundRobin}),
 *       {@code least_connections} ({@link LeastConnections}), {@code power_of_two} ({@link PowerOfTwoChoices}),
 *       {@code random} ({@link WeightedRandom}), {@code ip_hash} ({@link IpHash});</li>
 *   <li>{@code consistent_hash}: {@link RingHash} or {@link Maglev} as {@link LbOptions#hashTable()} says, keyed by
 *       {@link LbOptions#hashKey()}; {@code ring_hash} and {@code maglev} name one table directly;</li>
 *   <li>{@code sticky} ({@link Sticky}): cookie affinity around {@link LbOptions#stickyPolicy()}.</li>
 * </ul>
 *
 * All but {@code sticky} are a {@link Selector} inside the shared health tiering (see {@link LoadBalancer}).
 */
public final class LoadBalancers {

    /** Builds a balancer of one policy over an endpoint snapshot. */
    @FunctionalInterface
    public interface Factory {
        LoadBalancer create(List<EndpointState> endpoints, LbOptions options);
    }

    public static final String CONSISTENT_HASH = "consistent_hash";

    private static final Map<String, Factory> REGISTRY = new ConcurrentHashMap<>();

    static {
        registerSelector(RoundRobin.NAME, RoundRobin::new);
        registerSelector(SmoothWeightedRoundRobin.NAME, SmoothWeightedRoundRobin::new);
        registerSelector(LeastConnections.NAME, LeastConnections::new);
        registerSelector(PowerOfTwoChoices.NAME, PowerOfTwoChoices::new);
        registerSelector(WeightedRandom.NAME, WeightedRandom::new);
        registerSelector(IpHash.NAME, IpHash::new);
        registerSelector(RingHash.NAME, RingHash::new);
        registerSelector(Maglev.NAME, Maglev::new);
        registerSelector(CONSISTENT_HASH, (tier, options) -> options.hashTable() == LbOptions.HashTable.MAGLEV
                ? new Maglev(tier, options) : new RingHash(tier, options));
        register(Sticky.NAME, Sticky::create);
    }

    private LoadBalancers() {
    }

    /**
     * Adds a policy.
     *
     * @throws IllegalStateException if the name is taken
     */
    public static void register(String name, Factory factory) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(factory, "factory");
        if (REGISTRY.putIfAbsent(name, factory) != null) {
            throw new IllegalStateException("load balancing policy '" + name + "' is already registered");
        }
    }

    /** Adds a policy given as a per-tier {@link Selector}; health tiering, panic and retries come with it. */
    public static void registerSelector(String name, Selector.Factory factory) {
        Objects.requireNonNull(factory, "factory");
        register(name, (endpoints, options) -> new TieredBalancer(name, endpoints, options, factory));
    }

    /** The registered policy names, sorted (for configuration errors and suggestions). */
    public static Set<String> names() {
        return new TreeSet<>(REGISTRY.keySet());
    }

    public static boolean isKnown(String name) {
        return REGISTRY.containsKey(name);
    }

    /**
     * A balancer of {@code policy} over {@code endpoints}.
     *
     * @throws IllegalArgumentException for an unknown policy, or the same endpoint (host and port) twice
     */
    public static LoadBalancer create(String policy, List<EndpointState> endpoints, LbOptions options) {
        Objects.requireNonNull(options, "options");
        Factory f = REGISTRY.get(Objects.requireNonNull(policy, "policy"));
        if (f == null) {
            throw new IllegalArgumentException("unknown load balancing policy '" + policy + "', expected one of "
                    + String.join(", ", names()));
        }
        checkDistinct(endpoints);
        return f.create(List.copyOf(endpoints), options);
    }

    static void checkDistinct(List<EndpointState> endpoints) {
        Set<Endpoint> seen = new HashSet<>();
        for (EndpointState e : endpoints) {
            if (!seen.add(e.endpoint())) {
                throw new IllegalArgumentException("endpoint " + e.endpoint() + " is listed twice");
            }
        }
    }
}
