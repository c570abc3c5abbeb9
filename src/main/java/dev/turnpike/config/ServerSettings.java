package dev.turnpike.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Process-wide settings.
 *
 * @param eventLoops      number of I/O event loops; 0 means one per available core
 * @param allocator       Netty buffer allocator, always set explicitly
 * @param transport       I/O transport; {@code AUTO} picks epoll when it loads, NIO otherwise
 * @param serverHeader    value of the Server response header; empty hides the header
 * @param shutdownTimeout how long in-flight requests may run after SIGTERM before connections are closed
 * @param trustedProxies  peers whose X-Forwarded-For / Forwarded headers are believed
 * @param requestIdHeader header carrying the request ID, taken from trusted input when valid, else generated
 */
public record ServerSettings(
        int eventLoops,
        Allocator allocator,
        Transport transport,
        Optional<String> serverHeader,
        Duration shutdownTimeout,
        List<CidrBlock> trustedProxies,
        String requestIdHeader) {

    public ServerSettings {
        trustedProxies = List.copyOf(trustedProxies);
    }

    public enum Allocator { POOLED, ADAPTIVE, UNPOOLED }

    public enum Transport { AUTO, EPOLL, NIO }

    public static ServerSettings defaults() {
        return new ServerSettings(0, Allocator.POOLED, Transport.AUTO, Optional.of("Turnpike"),
                Duration.ofSeconds(30), List.of(), "X-Request-ID");
    }
}
