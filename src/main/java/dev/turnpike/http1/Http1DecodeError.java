package dev.turnpike.http1;

import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.Objects;

/**
 * Emitted (once) by {@link StrictHttp1RequestDecoder} when the request stream violates the protocol.
 * After this message the decoder discards all further input; the connection handler is expected to
 * answer with {@code status} and close the connection.
 *
 * @param status the response status to answer with (400, 414, 431, 501 or 505)
 * @param reason a short, log-safe description of the violation (never contains request bytes)
 */
public record Http1DecodeError(HttpResponseStatus status, String reason) {
    public Http1DecodeError {
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(reason, "reason");
    }
}
