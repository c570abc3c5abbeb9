package dev.turnpike.config;

import dev.turnpike.upstream.UpstreamProtocol;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A named group of upstream endpoints that routes proxy to, with how to choose among them, how to keep
 * connections to them, how to tell when they are sick and how to fail.
 *
 * @param name          the name routes use ({@code proxy: {cluster: api}})
 * @param endpoints     where requests can go; at least one non-backup endpoint
 * @param loadBalancing how an endpoint is chosen per request
 * @param slowStart     time over which an endpoint returning to service ramps to its full share; zero is off
 * @param dnsRefresh    how often host names are re-resolved (established connections are kept)
 * @param pool          connection pool limits, per endpoint and event loop
 * @param timeouts      per-stage timeouts of an upstream exchange
 * @param health        active checks and passive outlier detection
 * @param retries       when a failed attempt may be tried again
 * @param limits        circuit breaking for the whole cluster
 * @param protocol      how requests go to the endpoints: HTTP/1.1, HTTP/2 with prior knowledge (h2c), or HTTP/2
 *                      over TLS (h2)
 * @param tls           TLS to the endpoints (https:// endpoints and protocol h2 imply it); empty for cleartext
 */
public record ClusterConfig(String name, List<EndpointConfig> endpoints, LoadBalancing loadBalancing,
                            Duration slowStart, Duration dnsRefresh, Pool pool, Timeouts timeouts, Health health,
                            Retries retries, Limits limits, SourcePosition position, UpstreamProtocol protocol,
                            Optional<Tls> tls) {

    public ClusterConfig {
        endpoints = List.copyOf(endpoints);
        if (protocol == null) {
            protocol = UpstreamProtocol.HTTP1;
        }
        if (tls == null) {
            tls = Optional.empty();
        }
    }

    /**
     * TLS to a cluster's endpoints.
     *
     * @param ca                 PEM bundle of the CAs the endpoints' certificates must chain to; empty uses the
     *                           JVM's trusted CAs
     * @param serverName         the name sent in SNI and that the certificate must be valid for; empty uses the
     *                           endpoint's host name (an IP address is then checked against the certificate's IPs)
     * @param verify             false skips every check of the endpoint's certificate (explicitly insecure)
     * @param clientCertificate  PEM chain presented to endpoints that ask for a client certificate
     * @param clientKey          its private key
     * @param clientKeyPassword  password of an encrypted client key
     */
    public record Tls(Optional<Path> ca, Optional<String> serverName, boolean verify, Optional<Path> clientCertificate,
                      Optional<Path> clientKey, Optional<String> clientKeyPassword) {
        /** Verified against the JVM's CAs, with the endpoint's name, without a client certificate. */
        public static Tls defaults() {
            return new Tls(Optional.empty(), Optional.empty(), true, Optional.empty(), Optional.empty(),
                    Optional.empty());
        }

        @Override
        public String toString() {
            // Never the password.
            return "Tls[ca=" + ca + ", serverName=" + serverName + ", verify=" + verify + ", clientCertificate="
                    + clientCertificate + ", clientKey=" + clientKey + "]";
        }
    }

    /** An HTTP/1.1 cluster. */
    public ClusterConfig(String name, List<EndpointConfig> endpoints, LoadBalancing loadBalancing, Duration slowStart,
                         Duration dnsRefresh, Pool pool, Timeouts timeouts, Health health, Retries retries,
                         Limits limits, SourcePosition position) {
        this(name, endpoints, loadBalancing, slowStart, dnsRefresh, pool, timeouts, health, retries, limits, position,
                UpstreamProtocol.HTTP1, Optional.empty());
    }

    /**
     * One endpoint: a TCP address or a Unix domain socket.
     *
     * @param weight relative share of requests, 1..1000
     * @param backup used only when no primary endpoint is healthy
     */
    public record EndpointConfig(Address address, int weight, boolean backup, SourcePosition position) {}

    /** Where an endpoint listens. */
    public sealed interface Address {
        /** {@code host:port}, or the authority of an {@code http://} URL; the host may be a name or a literal. */
        record Tcp(String host, int port) implements Address {}

        /** {@code unix:/run/app.sock}. */
        record Unix(Path path) implements Address {}
    }

    /**
     * @param policy    one of round_robin, weighted_round_robin, least_connections, power_of_two, random, ip_hash,
     *                  consistent_hash, sticky
     * @param hashKey   for consistent_hash: client_address, path, header:NAME, cookie:NAME or query:NAME
     * @param hashTable for consistent_hash: ring or maglev
     * @param sticky    for sticky: the cookie and the policy used to pin new clients
     */
    public record LoadBalancing(String policy, Optional<String> hashKey, String hashTable, Optional<Sticky> sticky) {
        public static LoadBalancing defaults() {
            return new LoadBalancing("round_robin", Optional.empty(), "ring", Optional.empty());
        }
    }

    /**
     * @param cookie     name of the cookie Turnpike issues
     * @param policy     policy for clients without a (valid) cookie
     * @param maxAge     cookie lifetime; empty makes it a session cookie
     */
    public record Sticky(String cookie, String policy, Optional<Duration> maxAge) {}

    /**
     * @param maxConnections            connections to one endpoint from one event loop (0 = unlimited)
     * @param maxPending                requests waiting for a connection, per endpoint and event loop
     * @param pendingTimeout            how long a request may wait for a connection before 503
     * @param idleTimeout               idle keep-alive connections are closed after this
     * @param maxIdle                   idle keep-alive connections kept per endpoint and event loop
     * @param maxRequestsPerConnection  a connection is retired after this many requests (0 = unlimited)
     * @param maxConnectionLifetime     a connection is retired after this age (zero = unlimited)
     */
    public record Pool(int maxConnections, int maxPending, Duration pendingTimeout, Duration idleTimeout,
                       int maxIdle, long maxRequestsPerConnection, Duration maxConnectionLifetime) {
        public static Pool defaults() {
            return new Pool(0, 1024, Duration.ofSeconds(5), Duration.ofSeconds(60), 64, 0, Duration.ZERO);
        }
    }

    /**
     * Per-stage timeouts; each names its stage in the 504 the client gets.
     *
     * @param connect   TCP connect
     * @param send      writing the whole request (head and body) to the upstream
     * @param firstByte from the request being sent to the first byte of the response head
     * @param idle      longest pause between two reads of the response body
     * @param total     the whole exchange; zero is off (streams and long polls need it off)
     */
    public record Timeouts(Duration connect, Duration send, Duration firstByte, Duration idle, Duration total) {
        public static Timeouts defaults() {
            return new Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(60),
                    Duration.ofSeconds(60), Duration.ZERO);
        }
    }

    public record Health(Optional<ActiveCheck> active, Optional<OutlierDetection> passive) {
        public static Health none() {
            return new Health(Optional.empty(), Optional.empty());
        }
    }

    /**
     * An active check run against every endpoint.
     *
     * @param kind         http (request path, expect a status range and optionally a body substring), tcp
     *                     (connect only) or grpc (the standard {@code grpc.health.v1.Health/Check}; h2c clusters)
     * @param path         request path for http checks
     * @param host         Host header (HTTP/2: {@code :authority}) for http and grpc checks; empty uses the
     *                     endpoint's authority
     * @param statusFrom   lowest healthy status (inclusive)
     * @param statusTo     highest healthy status (inclusive)
     * @param bodyContains substring the response body must contain (read up to 64 KiB)
     * @param interval     time between checks of one endpoint
     * @param timeout      a check that takes longer fails
     * @param rise         consecutive successes that bring a down endpoint up
     * @param fall         consecutive failures that bring an up endpoint down
     * @param jitter       fraction (0..1) of the interval added at random, so checks do not align
     * @param grpcService  for grpc checks: the service asked about; empty asks about the server as a whole
     */
    public record ActiveCheck(Kind kind, String path, Optional<String> host, int statusFrom, int statusTo,
                              Optional<String> bodyContains, Duration interval, Duration timeout, int rise, int fall,
                              double jitter, String grpcService) {
        public enum Kind { HTTP, TCP, GRPC }

        public ActiveCheck {
            if (grpcService == null) {
                grpcService = "";
            }
        }

        /** An http or tcp check. */
        public ActiveCheck(Kind kind, String path, Optional<String> host, int statusFrom, int statusTo,
                           Optional<String> bodyContains, Duration interval, Duration timeout, int rise, int fall,
                           double jitter) {
            this(kind, path, host, statusFrom, statusTo, bodyContains, interval, timeout, rise, fall, jitter, "");
        }

        /** {@code GET /} every 10s (2s timeout, 10% jitter), healthy on 200-399, up after 2 passes, down after 3 fails. */
        public static ActiveCheck defaults() {
            return new ActiveCheck(Kind.HTTP, "/", Optional.empty(), 200, 399, Optional.empty(), Duration.ofSeconds(10),
                    Duration.ofSeconds(2), 2, 3, 0.1);
        }
    }

    /**
     * Passive outlier detection from live traffic.
     *
     * @param consecutive5xx             5xx responses in a row that eject an endpoint (0 = off)
     * @param consecutiveConnectFailures connect failures in a row that eject an endpoint (0 = off)
     * @param baseEjectionTime           first ejection; each further one doubles it
     * @param maxEjectionTime            cap of the growing ejection time
     * @param maxEjectionPercent         never eject more than this share of the cluster's endpoints
     */
    public record OutlierDetection(int consecutive5xx, int consecutiveConnectFailures, Duration baseEjectionTime,
                                   Duration maxEjectionTime, int maxEjectionPercent) {
        /** Eject after 5 consecutive 5xx or 3 connect failures, for 30s doubling up to 300s, at most half the cluster. */
        public static OutlierDetection defaults() {
            return new OutlierDetection(5, 3, Duration.ofSeconds(30), Duration.ofSeconds(300), 50);
        }
    }

    /**
     * @param attempts       extra attempts after the first (0 = no retries)
     * @param on             what may be retried for idempotent requests: connect_failure, reset (connection failed
     *                       before any response byte), timeout, and statuses such as 502, 503, 504. A failed connect
     *                       or a connection that failed before any request byte was sent is always retryable
     * @param budgetPercent  retries may add at most this share of the cluster's active requests
     * @param minRetriesConcurrent retries always allowed in flight whatever the budget (so a quiet cluster can retry)
     * @param bufferBody     request bodies up to this size are kept so that they can be retried; larger ones never are
     */
    public record Retries(int attempts, Set<String> on, int budgetPercent, int minRetriesConcurrent, long bufferBody) {
        public Retries {
            on = Set.copyOf(on);
        }

        public static Retries defaults() {
            return new Retries(1, Set.of("connect_failure", "reset"), 20, 3, 64 * 1024);
        }
    }

    /**
     * Circuit breaking for the whole cluster; over a limit the request is answered 503 at once.
     *
     * @param maxConnections upstream connections open to the cluster (0 = unlimited)
     * @param maxPending     requests waiting for a connection (0 = unlimited)
     * @param maxRequests    requests in flight to the cluster (0 = unlimited)
     */
    public record Limits(int maxConnections, int maxPending, int maxRequests) {
        public static Limits defaults() {
            return new Limits(0, 0, 0);
        }
    }
}
