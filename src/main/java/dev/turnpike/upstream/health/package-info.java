/**
 * Health of upstream endpoints: whether each endpoint of a cluster should take traffic, from two sources.
 *
 * <ul>
 *   <li>{@link dev.turnpike.upstream.health.ActiveHealthChecker} probes every endpoint (HTTP or TCP) on a timer, with
 *       rise/fall hysteresis, on one event loop of the server and over fresh connections.</li>
 *   <li>{@link dev.turnpike.upstream.health.OutlierDetector} watches live traffic (the proxy reports every attempt's
 *       outcome) and ejects endpoints with consecutive 5xx responses or connect failures, for exponentially growing
 *       times, within a cap on the share of the cluster ejected at once.</li>
 *   <li>{@link dev.turnpike.upstream.health.ClusterHealth} holds both verdicts per endpoint and derives the
 *       endpoint's health: down while either source says down, with the reason of each; each source only lifts
 *       its own verdict, and a down or draining state set by someone else is never overridden. It also follows the
 *       cluster's membership and gives a {@link dev.turnpike.upstream.health.HealthSnapshot} for the admin API.</li>
 * </ul>
 *
 * <p>Wiring, per cluster: build the {@link dev.turnpike.upstream.lb.EndpointState}s and the
 * {@link dev.turnpike.upstream.lb.ClusterBalancer}; create a {@code ClusterHealth} over the same states; create an
 * {@code ActiveHealthChecker} (then {@code start()}) if {@code health.active} is configured and an
 * {@code OutlierDetector} if {@code health.passive} is; pass every membership change to
 * {@link dev.turnpike.upstream.health.ClusterHealth#updateEndpoints}; report each upstream attempt with
 * {@link dev.turnpike.upstream.health.OutlierDetector#onResult}; close the checker and the detector with the
 * cluster.
 *
 * <p>Owns: deciding health (through {@link dev.turnpike.upstream.lb.EndpointState#markDown markDown} /
 * {@link dev.turnpike.upstream.lb.EndpointState#markUp markUp}, which also starts slow start); probe connections;
 * the log line of every health change (cluster, endpoint, what happened, resulting health).
 *
 * <p>Must not: block an event loop (names are resolved through a
 * {@link dev.turnpike.upstream.health.ProbeResolver} off the loop); use pooled connections for probes; take a lock
 * on the per-request path ({@code onResult} is lock-free); pick endpoints or know about routes and exchanges.
 */
package dev.turnpike.upstream.health;
