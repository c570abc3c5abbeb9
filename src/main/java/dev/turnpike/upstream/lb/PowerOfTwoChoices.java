package dev.turnpike.upstream.lb;

import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code power_of_two}: two members drawn at random (in proportion to effective weight) and the cheaper one taken,
 * with Finagle's peak-EWMA cost made weight-aware: {@code latencyEwma × (1 + load / relativeWeight)}, where the
 * relative weight is the effective weight over the tier's smallest weight (so equal weights give Finagle's
 * {@code latencyEwma × (load + 1)} exactly). A member with no latency sample yet costs 0 when idle and a large
 * penalty when busy (new endpoints are probed, not flooded). On equal costs the first draw wins: an idle cluster
 * spreads in proportion to the weights, and under load the cost equalises load per weight, which does too.
 *
 * <p>O(1) per pick and no shared writes: the choice of large clusters (Envoy's least-request and Finagle/Linkerd's
 * P2C work this way). It avoids a slow endpoint (high EWMA) and a loaded one; the EWMA decays between samples, so an
 * endpoint that was slow is tried again after a while.
 */
public final class PowerOfTwoChoices implements Selector {
    public static final String NAME = "power_of_two";
    private static final double PENALTY = (double) (Long.MAX_VALUE >> 16);
    private static final int DRAWS = 4;

    private final Tier tier;
    private final double minWeight;

    public PowerOfTwoChoices(Tier tier, LbOptions options) {
        this.tier = tier;
        int min = EndpointState.MAX_WEIGHT;
        for (int i = 0; i < tier.size(); i++) {
            min = Math.min(min, tier.member(i).weight());
        }
        this.minWeight = min;
    }

    @Override
    public EndpointState select(PickContext ctx, boolean avoidTried) {
        int n = tier.size();
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        int a = -1;
        for (int i = 0; i < DRAWS; i++) {
            int c = tier.drawWeighted(rnd);
            if (tier.usable(tier.member(c), ctx, avoidTried)) {
                a = c;
                break;
            }
        }
        if (a < 0) {
            return tier.scan(rnd.nextInt(n), ctx, avoidTried);
        }
        EndpointState first = tier.member(a);
        if (n == 1) {
            return first;
        }
        int b = -1;
        for (int i = 0; i < DRAWS && b < 0; i++) {
            int c = tier.drawWeighted(rnd);
            if (c != a) {
                b = c;
            }
        }
        if (b < 0) { // a heavy member kept coming up: any other one, uniformly
            b = (a + 1 + rnd.nextInt(n - 1)) % n;
        }
        EndpointState second = tier.member(b);
        if (!tier.usable(second, ctx, avoidTried)) {
            return first;
        }
        long now = first.ticker().nanoTime();
        return cost(second, now) < cost(first, now) ? second : first;
    }

    /** Finagle's peak-EWMA load metric, with the load taken per unit of relative weight. */
    double cost(EndpointState e, long now) {
        double latency = e.latencyEwmaNanos(now);
        int load = e.load();
        if (load == 0) {
            return latency;
        }
        double perWeight = load * minWeight / e.effectiveWeight();
        return latency == 0 ? PENALTY + perWeight : latency * (1 + perWeight);
    }
}
