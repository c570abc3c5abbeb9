/**
 * HTTP/1.1 on a client connection: the strict request decoder (the boundary against request smuggling), the
 * response encoder (its head writer, {@link dev.turnpike.http1.Http1HeadWriter}, also writes the request heads
 * of upstream connections), and the connection handler that owns keep-alive, pipelining order, 100-continue, the
 * request-body hand-off and the connection's timeouts. Must never block the event loop or buffer without a
 * bound.
 */
package dev.turnpike.http1;
