package dev.turnpike.upstream.lb;

/**
 * {@code weighted_round_robin}: nginx's smooth weighted round robin. Each pick adds every usable member's effective
 * weight to its current weight, takes the member with the highest current weight (the first on a tie) and
 * subtracts the total from it; weights 5:1:1 give {@code a a b a c a a}, spread as evenly as possible.
 *
 * <p>The algorithm is sequential, so the current weights are per thread ({@link PerThread}): each event loop runs
 * its own smooth sequence, like each nginx worker. Effective weight = configured weight × slow-start factor, in
 * thousandths (integer arithmetic, exact when nothing is warming). O(n) per pick.
 */
public final class SmoothWeightedRoundRobin implements Selector {
    public static final String NAME = "weighted_round_robin";

    private final Tier tier;
    private final PerThread<long[]> current;

    public SmoothWeightedRoundRobin(Tier tier, LbOptions options) {
        this.tier = tier;
        int n = tier.size();
        this.current = new PerThread<>(() -> new long[n]);
    }

    @Override
    public EndpointState select(PickContext ctx, boolean avoidTried) {
        long[] cur = current.get();
        int best = -1;
        long total = 0;
        for (int i = 0; i < cur.length; i++) {
            EndpointState e = tier.member(i);
            if (!tier.usable(e, ctx, avoidTried)) {
                continue;
            }
            long w = Math.max(1L, Math.round(e.weight() * 1000.0 * e.slowStartFactor()));
            cur[i] += w;
            total += w;
            if (best < 0 || cur[i] > cur[best]) {
                best = i;
            }
        }
        if (best < 0) {
            return null;
        }
        cur[best] -= total;
        return tier.member(best);
    }
}
