package dev.turnpike.upstream;

import java.util.Locale;

/** How a cluster speaks to its endpoints ({@code clusters.X.protocol}). */
public enum UpstreamProtocol {
    /** HTTP/1.1, one request at a time per connection, idle connections pooled. The default. */
    HTTP1,
    /** HTTP/2 over cleartext with prior knowledge (RFC 9113 §3.3): streams multiplexed over few connections. */
    H2C,
    /** HTTP/2 over TLS, negotiated with ALPN. */
    H2;

    /** The name used in the configuration: {@code http1}, {@code h2c} or {@code h2}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether requests go as HTTP/2 streams. */
    public boolean isHttp2() {
        return this != HTTP1;
    }
}
