package dev.turnpike.upstream.lb;

import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code random}: a member drawn in proportion to its effective weight (binary search over cumulative weights,
 * slow start by rejection). Stateless: no shared writes at all.
 */
public final class WeightedRandom implements Selector {
    public static final String NAME = "random";
    private static final int DRAWS = 4;

    private final Tier tier;

    public WeightedRandom(Tier tier, LbOptions options) {
        this.tier = tier;
    }

    @Override
    public EndpointState select(PickContext ctx, boolean avoidTried) {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        int i = 0;
        for (int d = 0; d < DRAWS; d++) {
            i = tier.drawWeighted(rnd);
            EndpointState e = tier.member(i);
            if (tier.usable(e, ctx, avoidTried)) {
                return e;
            }
        }
        return tier.scan(i + 1, ctx, avoidTried);
    }
}
