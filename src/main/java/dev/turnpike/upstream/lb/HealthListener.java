package dev.turnpike.upstream.lb;

/**
 * Told after an {@link EndpointState}'s health changed, on the thread that changed it. Must be quick and must not
 * block: {@link ClusterBalancer} only schedules a coalesced rebuild.
 */
@FunctionalInterface
public interface HealthListener {
    void healthChanged(EndpointState endpoint, Health from, Health to);
}
