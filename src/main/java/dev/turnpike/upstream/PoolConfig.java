package dev.turnpike.upstream;

import java.time.Duration;

/**
 * How connections to an endpoint are made and kept.
 *
 * @param connectTimeout        TCP connect timeout
 * @param maxIdlePerLoop        idle keep-alive connections kept per event loop and endpoint; 0 disables reuse
 * @param idleExpiry            an idle connection unused this long is closed
 * @param maxResponseLine       longest status line accepted from the upstream
 * @param maxResponseHeaderSize largest response header section accepted from the upstream
 * @param maxContentPiece       largest body piece the decoder hands on at once (bytes are never copied to join)
 * @param maxRequestsPerConnection a connection is closed after this many requests (0 = unlimited)
 * @param maxConnectionLifetime  a connection older than this is not reused (zero = unlimited)
 * @param dnsTtl                 how long a resolved host name is used before it is looked up again
 * @param maxConnections         connections (open or opening) per event loop and endpoint; 0 = unlimited
 * @param maxPending             requests that may wait for a connection when {@code maxConnections} are in use
 * @param pendingTimeout         how long a request may wait for a connection
 * @param protocol               HTTP/1.1 or HTTP/2 (then {@code maxConnections} counts the shared connections,
 *                               {@code maxRequestsPerConnection} the streams of one, and requests wait for a stream)
 * @param tls                    TLS to the endpoints, or null for cleartext
 */
public record PoolConfig(Duration connectTimeout, int maxIdlePerLoop, Duration idleExpiry, int maxResponseLine,
                         int maxResponseHeaderSize, int maxContentPiece, long maxRequestsPerConnection,
                         Duration maxConnectionLifetime, Duration dnsTtl, int maxConnections, int maxPending,
                         Duration pendingTimeout, UpstreamProtocol protocol, UpstreamTls tls) {

    public static final Duration DEFAULT_IDLE_EXPIRY = Duration.ofSeconds(60);
    public static final Duration DEFAULT_DNS_TTL = Duration.ofSeconds(30);

    /** Without per-connection limits, with the default name cache TTL. */
    public PoolConfig(Duration connectTimeout, int maxIdlePerLoop, Duration idleExpiry, int maxResponseLine,
                      int maxResponseHeaderSize, int maxContentPiece) {
        this(connectTimeout, maxIdlePerLoop, idleExpiry, maxResponseLine, maxResponseHeaderSize, maxContentPiece, 0,
                Duration.ZERO, DEFAULT_DNS_TTL, 0, 0, Duration.ofSeconds(5), UpstreamProtocol.HTTP1, null);
    }

    /** Cleartext. */
    public PoolConfig(Duration connectTimeout, int maxIdlePerLoop, Duration idleExpiry, int maxResponseLine,
                      int maxResponseHeaderSize, int maxContentPiece, long maxRequestsPerConnection,
                      Duration maxConnectionLifetime, Duration dnsTtl, int maxConnections, int maxPending,
                      Duration pendingTimeout, UpstreamProtocol protocol) {
        this(connectTimeout, maxIdlePerLoop, idleExpiry, maxResponseLine, maxResponseHeaderSize, maxContentPiece,
                maxRequestsPerConnection, maxConnectionLifetime, dnsTtl, maxConnections, maxPending, pendingTimeout,
                protocol, null);
    }

    public PoolConfig {
        if (maxIdlePerLoop < 0) {
            throw new IllegalArgumentException("maxIdlePerLoop < 0");
        }
        if (idleExpiry.isNegative() || idleExpiry.isZero()) {
            throw new IllegalArgumentException("idleExpiry must be positive");
        }
        if (maxRequestsPerConnection < 0) {
            throw new IllegalArgumentException("maxRequestsPerConnection < 0");
        }
        if (maxConnectionLifetime == null || maxConnectionLifetime.isNegative()) {
            maxConnectionLifetime = Duration.ZERO;
        }
        if (maxConnections < 0 || maxPending < 0) {
            throw new IllegalArgumentException("maxConnections and maxPending must not be negative");
        }
        if (pendingTimeout == null || pendingTimeout.isNegative() || pendingTimeout.isZero()) {
            pendingTimeout = Duration.ofSeconds(5);
        }
        if (dnsTtl == null || dnsTtl.isNegative()) {
            dnsTtl = DEFAULT_DNS_TTL;
        }
        if (protocol == null) {
            protocol = UpstreamProtocol.HTTP1;
        }
    }

    /** This configuration speaking {@code p}. */
    public PoolConfig withProtocol(UpstreamProtocol p) {
        return new PoolConfig(connectTimeout, maxIdlePerLoop, idleExpiry, maxResponseLine, maxResponseHeaderSize,
                maxContentPiece, maxRequestsPerConnection, maxConnectionLifetime, dnsTtl, maxConnections, maxPending,
                pendingTimeout, p, tls);
    }

    public static PoolConfig of(Duration connectTimeout, int maxIdlePerLoop) {
        return new PoolConfig(connectTimeout, maxIdlePerLoop, DEFAULT_IDLE_EXPIRY, 8 * 1024, 64 * 1024, 64 * 1024);
    }
}
