package dev.turnpike.upstream;

/**
 * What an {@link UpstreamConnection} reports to: its HTTP/1.1 pool, or the HTTP/2 connection that carries its stream.
 * Called on the connection's event loop.
 */
interface ConnectionOwner {
    Endpoint endpoint();

    /** The user is done with {@code c}; reusable when both the request and the response were complete. */
    void release(UpstreamConnection c, boolean reusable);

    /** The channel of {@code c} became inactive. */
    void closed(UpstreamConnection c);
}
