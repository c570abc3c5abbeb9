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
 */
public record PoolConfig(Duration connectTimeout, int maxIdlePerLoop, Duration idleExpiry, int maxResponseLine,
                         int maxResponseHeaderSize, int maxContentPiece) {

    public static final Duration DEFAULT_IDLE_EXPIRY = Duration.ofSeconds(60);

    public PoolConfig {
        if (maxIdlePerLoop < 0) {
            throw new IllegalArgumentException("maxIdlePerLoop < 0");
        }
        if (idleExpiry.isNegative() || idleExpiry.isZero()) {
            throw new IllegalArgumentException("idleExpiry must be positive");
        }
    }

    public static PoolConfig of(Duration connectTimeout, int maxIdlePerLoop) {
        return new PoolConfig(connectTimeout, maxIdlePerLoop, DEFAULT_IDLE_EXPIRY, 8 * 1024, 64 * 1024, 64 * 1024);
    }
}
