package dev.turnpike.tls;

import dev.turnpike.config.ListenerConfig;
import dev.turnpike.http.HttpServices;
import io.netty.channel.Channel;

import java.util.function.Supplier;

/**
 * How a TLS connection continues when the client chose HTTP/2 ({@code h2}) by ALPN. The HTTP/2 package provides
 * it; a {@link TlsListener} made without one does not offer {@code h2} at all, so clients use HTTP/1.1.
 */
@FunctionalInterface
public interface Http2Hook {
    /**
     * Adds the HTTP/2 connection handlers to {@code ch}, whose TLS handshake has just completed. Called on the
     * channel's event loop; {@link dev.turnpike.http.TlsInfo#of(Channel)} already answers for {@code ch}.
     */
    void install(Channel ch, Supplier<HttpServices> services, ListenerConfig listener);
}
