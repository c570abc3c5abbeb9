package dev.turnpike.http;

/**
 * A terminal handler: answers an exchange (static files, proxy, respond, redirect …). Built once per
 * configuration snapshot and shared by every event loop, so implementations keep per-request state on the
 * exchange or in objects they create per request, never in fields.
 *
 * <p>{@link #handle} runs on the exchange's event loop and must not block it.
 */
public interface Handler extends AutoCloseable {
    void handle(Exchange exchange);

    /** Releases what the handler holds (pools, caches) when its snapshot is retired. */
    @Override
    default void close() {}
}
