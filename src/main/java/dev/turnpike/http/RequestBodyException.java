package dev.turnpike.http;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * The request body could not be completed: too large, malformed or too slow. A {@link BodySink} sees it in
 * {@link BodySink#onError}; the status is what the client is answered when nothing was sent yet.
 */
public final class RequestBodyException extends Exception {
    private final HttpResponseStatus status;

    public RequestBodyException(HttpResponseStatus status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    public HttpResponseStatus status() {
        return status;
    }
}
