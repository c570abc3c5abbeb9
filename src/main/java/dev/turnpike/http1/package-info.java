/**
 * HTTP/1.1 on the wire. On a client connection: the strict request decoder (the boundary against request
 * smuggling), the response encoder, and the connection handler that owns keep-alive, pipelining order,
 * 100-continue, the request-body hand-off and the connection's timeouts. For upstream connections: the strict
 * response decoder ({@link dev.turnpike.http1.Http1ResponseDecoder}) and the head writer
 * ({@link dev.turnpike.http1.Http1HeadWriter}), which writes the request heads there and the response heads here.
 * Both decoders hold the bytes to one grammar, {@code Http1Syntax}. Must never block the event loop or buffer
 * without a bound.
 */
package dev.turnpike.http1;
