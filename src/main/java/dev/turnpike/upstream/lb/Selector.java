package dev.turnpike.upstream.lb;

/**
 * A policy's algorithm over one {@link Tier}: the extension point behind {@link LoadBalancers#register}. The
 * health tiers, panic mode and the retry fallbacks are handled around it by the balancer, so a selector only
 * chooses among the tier's members.
 *
 * <p>Built once per tier per rebuild and then called from every event loop at once: must be thread-safe, must not
 * block or lock, should not allocate. Per-thread state is fine (see {@link SmoothWeightedRoundRobin}).
 */
@FunctionalInterface
public interface Selector {

    /**
     * A member that is {@link Tier#usable usable} now (with {@code avoidTried} as given), preferring the policy's
     * choice; null only when no member is usable.
     */
    EndpointState select(PickContext ctx, boolean avoidTried);

    /** Builds a policy's selector for a tier. */
    @FunctionalInterface
    interface Factory {
        Selector create(Tier tier, LbOptions options);
    }
}
