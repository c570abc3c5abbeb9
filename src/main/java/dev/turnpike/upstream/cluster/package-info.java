/**
 * Upstream clusters at runtime: what a {@code clusters:} entry of the configuration becomes for one configuration
 * snapshot, and the per-request decisions a proxy makes against it.
 *
 * <ul>
 *   <li>{@link dev.turnpike.upstream.cluster.Clusters}: every cluster of a snapshot by name; built, started and closed
 *       with the snapshot; resolves a route's {@code cluster}, {@code split}
 *       ({@link dev.turnpike.upstream.cluster.WeightedSplit}) and {@code mirror}
 *       ({@link dev.turnpike.upstream.cluster.MirrorTarget}).</li>
 *   <li>{@link dev.turnpike.upstream.cluster.ClusterRuntime}: one cluster: endpoint states, balancer, health (active
 *       checks, outlier detection), and the request-level pieces below; {@code pick}, {@code target},
 *       {@code onAttemptStart} / {@code onAttemptResult} with an {@link dev.turnpike.upstream.cluster.Outcome}.</li>
 *   <li>{@link dev.turnpike.upstream.cluster.CircuitBreaker} (cluster-wide limits, 503 over them),
 *       {@link dev.turnpike.upstream.cluster.RetryPolicy} (what may be retried),
 *       {@link dev.turnpike.upstream.cluster.RetryBudget} (how many retries may be in flight),
 *       {@link dev.turnpike.upstream.cluster.StageTimeouts}, {@link dev.turnpike.upstream.cluster.StickyCookie}.</li>
 *   <li>{@link dev.turnpike.upstream.cluster.UpstreamTarget}: a TCP endpoint or a Unix socket.</li>
 * </ul>
 *
 * <p>Threading: a runtime is shared by every event loop. Per-request calls are lock-free and allocation-free; building
 * and closing happen on the thread that compiles or retires a snapshot. A snapshot's clusters are fresh: endpoint
 * health and counters do not carry over a reload (active checks start from "up", the HAProxy way).
 *
 * <p>Must not: do I/O on the request path; know about exchanges, HTTP messages or routes (the proxy adapts its exchange
 * to a {@link dev.turnpike.upstream.lb.PickContext} and classifies failures into
 * {@link dev.turnpike.upstream.cluster.RetryPolicy.FailureKind} and {@code Outcome}). A runtime does own its
 * connection pools ({@code ClusterRuntime.pools()}: one pool per event loop and endpoint, shared by every route to the
 * cluster), but never touches them on its own: the proxy takes and returns connections on its event loop.
 *
 * <h2>Unix sockets: the Endpoint proposal</h2>
 * The balancer and health code key endpoints by {@link dev.turnpike.upstream.Endpoint}, a (host, port) record. Until it
 * can name a socket, a Unix endpoint is keyed by a synthetic, never-resolvable endpoint and carried as
 * {@link dev.turnpike.upstream.cluster.UpstreamTarget.Unix} (path, channel class and address per transport). The clean
 * fix for phase B is to make {@code Endpoint} a sealed interface with two records, {@code Endpoint.Tcp(host, port)}
 * (today's record, validation unchanged) and {@code Endpoint.Unix(Path path)}, sharing {@code authority()}
 * ({@code host:port} / {@code unix:/path}), {@code hostHeader()} ({@code localhost} for a socket) and
 * {@code literalAddress()} (null for a socket); {@code Endpoint.tcp(host, port)} and {@code Endpoint.of(URI)} replace
 * the 16 {@code new Endpoint(..)} calls. {@code ConnectionPool.connect} and the active checker's probe then switch on
 * the type: a {@code Unix} endpoint connects with {@code UpstreamTarget.Unix.channelClass(transport)} to
 * {@code socketAddress(transport)}, with no resolver and no TCP options, which makes active checks work for sockets
 * too. {@code UpstreamTarget} and the synthetic keys then go away ({@code target(e)} becomes {@code e.endpoint()}).
 */
package dev.turnpike.upstream.cluster;
