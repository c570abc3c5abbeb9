package dev.turnpike.upstream.lb;

import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code least_connections}: the usable member with the lowest {@code load / effective weight} (load = in-flight
 * requests + long-lived connections; effective weight includes slow start), like nginx's {@code least_conn}. Ties
 * are broken at random in proportion to weight, so an idle cluster still gets a weighted spread. O(n) per pick
 * (one pass, no allocation); for clusters of hundreds of endpoints {@code power_of_two} is O(1).
 */
public final class LeastConnections implements Selector {
    public static final String NAME = "least_connections";

    private final Tier tier;

    public LeastConnections(Tier tier, LbOptions options) {
        this.tier = tier;
    }

    @Override
    public EndpointState select(PickContext ctx, boolean avoidTried) {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        EndpointState best = null;
        double bestLoad = 0;
        double bestWeight = 1;
        double tiedWeight = 0;
        for (int i = 0, n = tier.size(); i < n; i++) {
            EndpointState e = tier.member(i);
            if (!tier.usable(e, ctx, avoidTried)) {
                continue;
            }
            double load = e.load();
            double w = e.effectiveWeight();
            if (best == null) {
                best = e;
                bestLoad = load;
                bestWeight = w;
                tiedWeight = w;
                continue;
            }
            // load/w < bestLoad/bestWeight, without dividing
            double lhs = load * bestWeight;
            double rhs = bestLoad * w;
            if (lhs < rhs) {
                best = e;
                bestLoad = load;
                bestWeight = w;
                tiedWeight = w;
            } else if (lhs == rhs) {
                // weighted reservoir sampling among the tied
                tiedWeight += w;
                if (rnd.nextDouble() * tiedWeight < w) {
                    best = e;
                    bestLoad = load;
                    bestWeight = w;
                }
            }
        }
        return best;
    }
}
