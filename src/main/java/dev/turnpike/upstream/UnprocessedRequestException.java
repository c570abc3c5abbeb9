package dev.turnpike.upstream;

import java.io.IOException;

/**
 * The upstream said it did not process a request: the stream was above the last stream id of its GOAWAY, or it was
 * refused with REFUSED_STREAM (also raised locally when the connection cannot open another stream). RFC 9113 §8.7: such
 * a request can be retried whatever its method, as long as its body can be sent again.
 */
public final class UnprocessedRequestException extends IOException {
    public UnprocessedRequestException(String message) {
        super(message);
    }

    public UnprocessedRequestException(String message, Throwable cause) {
        super(message, cause);
    }
}
