/**
 * The protocol-independent exchange: one request and its response as handlers see it ({@link
 * dev.turnpike.http.Exchange}), the handler and body-sink contracts, request-target normalisation, request IDs
 * and the responses for errors Turnpike generates. Protocol connections (HTTP/1.1 connections, HTTP/2 streams)
 * implement {@link dev.turnpike.http.ExchangeTransport}; nothing here knows how bytes are framed.
 */
package dev.turnpike.http;
