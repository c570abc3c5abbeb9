/**
 * WebSocket proxying (RFC 6455; over HTTP/2, RFC 8441), for the proxy handler: the handshake rules a client request
 * must meet before it goes upstream ({@link dev.turnpike.websocket.WebSocketHandshake}), a route's compiled
 * settings, origin allow-list and connection limits ({@link dev.turnpike.websocket.WebSocketRoute}), and, after the upstream's 101,
 * the splice that joins the client's tunnel to the upstream connection with back-pressure both ways
 * ({@link dev.turnpike.websocket.WebSocketSplice}).
 *
 * <p>Owns: handshake validation and the {@code Sec-WebSocket-Accept} check; following frame boundaries in raw
 * byte streams ({@link dev.turnpike.websocket.FrameBoundaries}) so that close frames can be injected between frames;
 * optional inspection of client frames with Netty's WebSocket codec (size limits, UTF-8); the close handshake on
 * idle timeout, shutdown, upstream loss and client loss; the route's per-route and per-client connection counts.
 *
 * <p>Must not: pick endpoints, make upstream connections or answer the handshake's HTTP errors itself (the proxy
 * does, through the cluster machinery and {@code Exchange.sendError}); assume the client side is an HTTP/1.1
 * connection (it only sees the tunnel channel {@code Exchange.switchProtocols} returns, which carries raw bytes);
 * buffer more than one read per side (back-pressure goes through writability and autoRead); block the event loop.
 */
package dev.turnpike.websocket;
