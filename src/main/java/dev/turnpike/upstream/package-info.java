/**
 * Connections to upstream servers: {@link dev.turnpike.upstream.Endpoint}s, connecting (on the calling
 * event loop, with the transport's socket class and the client's allocator), name resolution off the event
 * loop, keep-alive pooling for HTTP/1.1 ({@link dev.turnpike.upstream.Http1ConnectionPool}), HTTP/2 streams
 * multiplexed over few connections ({@link dev.turnpike.upstream.Http2ConnectionPool}, h2c or h2), and TLS to the
 * endpoints ({@link dev.turnpike.upstream.UpstreamTls}).
 *
 * <p>Pools are per (event loop, endpoint) ({@link dev.turnpike.upstream.ConnectionPool}), grouped per handler
 * in {@link dev.turnpike.upstream.ConnectionPools}: a loop only ever touches its own pools, so the hot path
 * takes no lock. Idle connections are reused LIFO, capped per loop, expired after a while and dropped as soon
 * as the upstream closes them. This is the layer that clusters, load balancing, health checks, retries and
 * circuit breaking will build on: they choose an {@code Endpoint}, then take a connection from its pool.
 *
 * <p>Must not: know about exchanges, routes, client connections or HTTP semantics beyond framing (the
 * {@code Http1ClientCodec} lives in each connection's pipeline, but what to send and whether a connection is
 * reusable is decided by the user: {@link dev.turnpike.upstream.UpstreamConnection#release}); block an event
 * loop (no DNS on it); share a connection between loops or give one to two users at once.
 */
package dev.turnpike.upstream;
