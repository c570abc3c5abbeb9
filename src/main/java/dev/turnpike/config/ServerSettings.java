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
 * @param watchConfig     whether the configuration file is watched and reloaded when it changes
 * @param reloadGrace     after a reload, how long exchanges still running on a route that changed or went away may
 *                        go on before their connections are closed
 * @param logFormat       format of the server log (events on stderr); {@code TURNPIKE_LOG_FORMAT} overrides it
 */
public record ServerSettings(
        int eventLoops,
        Allocator allocator,
        Transport transport,
        Optional<String> serverHeader,
        Duration shutdownTimeout,
        List<CidrBlock> trustedProxies,
        String requestIdHeader,
        boolean watchConfig,
        Duration reloadGrace,
        LogFormat logFormat) {

    public static final Duration DEFAULT_RELOAD_GRACE = Duration.ofSeconds(30);

    public ServerSettings {
        trustedProxies = List.copyOf(trustedProxies);
    }

    /** Without the reload and logging settings (their defaults apply). */
    public ServerSettings(int eventLoops, Allocator allocator, Transport transport, Optional<String> serverHeader,
                          Duration shutdownTimeout, List<CidrBlock> trustedProxies, String requestIdHeader) {
        this(eventLoops, allocator, transport, serverHeader, shutdownTimeout, trustedProxies, requestIdHeader, false,
                DEFAULT_RELOAD_GRACE, LogFormat.TEXT);
    }

    public enum Allocator { POOLED, ADAPTIVE, UNPOOLED }

    public enum Transport { AUTO, EPOLL, NIO }

    /** The server log: one line per event, as text for people or as JSON objects for log shippers. */
    public enum LogFormat { TEXT, JSON }

    public static ServerSettings defaults() {
        return new ServerSettings(0, Allocator.POOLED, Transport.AUTO, Optional.of("Turnpike"),
                Duration.ofSeconds(30), List.of(), "X-Request-ID");
    }
}
