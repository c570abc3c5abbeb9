/**
 * HTTP/2 (RFC 9113) on a client connection: over TLS once ALPN chose "h2", and in cleartext ("h2c") with prior
 * knowledge or an {@code Upgrade: h2c} request. {@link dev.turnpike.http2.Http2ServerSupport} is the one entry
 * point that sets a connection up. Each stream becomes an {@link dev.turnpike.http.Exchange} through
 * {@link dev.turnpike.http2.Http2StreamTransport}, on a Netty child channel of the connection, so handlers
 * written for HTTP/1.1 (static files, respond, redirect, proxy) work unchanged. A stream opened with RFC 8441's
 * extended CONNECT can become a tunnel ({@code Exchange.switchProtocols}: a 200, then raw bytes in DATA frames
 * both ways), which is how WebSockets come over HTTP/2.
 *
 * <p>Flow control is honest both ways: a stream's request body is granted more window only as its handler takes
 * the bytes (pausing the body stops the WINDOW_UPDATEs), and a stream whose client does not open its window
 * becomes unwritable, which is what makes the proxy stop reading its upstream. This package also owns the
 * defences against the known HTTP/2 attacks (rapid reset, CONTINUATION and control-frame floods, oversized
 * header lists, stalled windows) and the connection's timeouts and graceful GOAWAY. It never blocks the event
 * loop and every buffer it keeps is bounded by a window or a limit.
 */
package dev.turnpike.http2;
