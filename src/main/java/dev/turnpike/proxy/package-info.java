/**
 * The reverse-proxy handler: turns an {@link dev.turnpike.http.Exchange} into a request to an upstream and
 * streams the answer back.
 *
 * <p>Owns: building the upstream request (target with strip prefix and base path, hop-by-hop removal, Host,
 * X-Forwarded-*, Forwarded, request ID, {@code set_headers}); streaming both bodies with back-pressure and
 * bounded memory; response clean-up (hop-by-hop); the response and idle timeouts; mapping upstream failures to
 * 502/504 (through {@code Exchange.sendError}, so error pages apply) or to an aborted client response once
 * the head is out; the single retry of a stale keep-alive connection, and the retry of requests an HTTP/2
 * upstream did not process (GOAWAY, REFUSED_STREAM); deciding whether a connection is clean enough to go back to
 * the pool; streams (SSE, {@code X-Accel-Buffering: no}, {@code streaming: true}) flushed part by part without the
 * total timeout; a route's own timeouts; WebSocket handshakes, checked and forwarded like any request, their 101
 * handed to {@link dev.turnpike.websocket.WebSocketSplice}. For gRPC calls: the call's deadline
 * ({@code grpc-timeout}) as a bound of the exchange, ending a call with a gRPC status in its trailers, and the
 * gRPC-Web translation and CORS of a route ({@code grpc_web}).
 *
 * <p>Must not: make or pool connections itself (that is {@link dev.turnpike.upstream}); block or leave the
 * exchange's event loop; aggregate bodies; keep per-request state in {@link dev.turnpike.proxy.ProxyHandler}
 * fields (it is shared by all loops); put internal addresses in anything the client sees (only the access
 * log gets the upstream address); retry, outside the cluster's retry policy, anything but a request whose body
 * was not started on a reused connection that died before any response byte, or one the upstream said it did
 * not process.
 */
package dev.turnpike.proxy;
