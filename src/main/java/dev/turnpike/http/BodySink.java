package dev.turnpike.http;

import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;

/** Receives a request body as it arrives, on the exchange's event loop. */
public interface BodySink {
    /** A piece of the body; the sink owns (and must release or pass on) {@code content}. */
    void onContent(HttpContent content);

    /** The end of the body, possibly with trailers; the sink owns {@code last}. */
    void onEnd(LastHttpContent last);

    /** The body cannot be completed: the client went away, timed out, or exceeded a limit. */
    void onError(Throwable cause);
}
