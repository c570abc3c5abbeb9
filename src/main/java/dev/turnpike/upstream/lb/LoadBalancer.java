package dev.turnpike.upstream.lb;

import java.util.List;

/**
 * A policy bound to an immutable snapshot of a cluster's endpoints: picks an endpoint per request. Built by
 * {@link LoadBalancers#create}; a membership or health change builds a new one with {@link #rebuild} (the tables of
 * hash policies, the health tiers) that replaces this one by reference (see {@link ClusterBalancer}).
 *
 * <p>Health: only up primaries are picked; if none is up, up backups; if nothing is up at all, any non-draining
 * endpoint, flagged {@link PickResult#panic()}. A draining endpoint is never picked (unless sticky is told to
 * honour pins to draining endpoints). Endpoints the context reports as tried are avoided while another is
 * available (all tried primaries move a retry to the backups, like nginx).
 *
 * <p>Thread-safety: {@link #pick} is called concurrently from every event loop; it is lock-free, never blocks and
 * does not allocate (results are preallocated).
 */
public interface LoadBalancer {

    /** The endpoint for this request, or null when nothing can take it (no endpoint, or all draining). */
    PickResult pick(PickContext ctx);

    /** {@link #pick}'s endpoint, or null. */
    default EndpointState pickEndpoint(PickContext ctx) {
        PickResult r = pick(ctx);
        return r == null ? null : r.endpoint();
    }

    /** The policy name, as in the configuration. */
    String policy();

    /** The snapshot this balancer was built on, in membership order. */
    List<EndpointState> endpoints();

    /** The same policy and options over another membership, or over the same one after health changes. */
    LoadBalancer rebuild(List<EndpointState> endpoints);
}
