/**
 * Load balancing: which endpoint of a cluster takes a request.
 *
 * <p>Owns: the runtime state of a cluster's endpoints ({@link dev.turnpike.upstream.lb.EndpointState}: weight,
 * backup flag, health flag, in-flight and connection counters, latency EWMA, slow start); the policies
 * ({@code round_robin}, {@code weighted_round_robin}, {@code least_connections}, {@code power_of_two},
 * {@code random}, {@code ip_hash}, {@code consistent_hash} / {@code ring_hash} / {@code maglev}, {@code sticky}) and
 * their registry ({@link dev.turnpike.upstream.lb.LoadBalancers}); the health tiers every policy shares (up
 * primaries, else up backups, else panic over all non-draining endpoints; draining never picked; tried endpoints
 * avoided); and the snapshot a cluster swaps by reference when its membership or health changes
 * ({@link dev.turnpike.upstream.lb.BalancerSnapshot}, {@link dev.turnpike.upstream.lb.ClusterBalancer}).
 *
 * <p>Threading: a cluster's balancer is shared by all event loops. A pick is lock-free, never blocks and allocates
 * nothing (results are preallocated per endpoint); tables are immutable and rebuilt off the pick path; the one
 * inherently sequential algorithm (smooth weighted round robin) keeps its state per thread. Everything is
 * deterministic across instances where it must be (XXH64 of UTF-8 and address bytes, never {@code hashCode}).
 *
 * <p>Must not: do I/O, block, take a lock or log on the pick path; depend on the HTTP layer (requests are seen
 * through {@link dev.turnpike.upstream.lb.PickContext}); decide health (checks and outlier detection set it through
 * {@link dev.turnpike.upstream.lb.EndpointState#markDown} and friends), retries or timeouts (it only honours the
 * tried set it is given); own connections (it chooses an {@link dev.turnpike.upstream.Endpoint}, the caller takes a
 * connection from that endpoint's pool); set cookies (it says which one to set, the HTTP layer writes it).
 */
package dev.turnpike.upstream.lb;
