package dev.turnpike.config;

import java.time.Duration;
import java.util.Optional;

/**
 * One address Turnpike accepts connections on.
 *
 * @param name     stable name used in logs (defaults to the address text)
 * @param host     literal address or host name to bind; "0.0.0.0" or "::" for all
 * @param port     TCP port; 0 picks an ephemeral port (tests)
 * @param limits   sizes and connection counts that are answered with 4xx/5xx instead of crashing
 * @param timeouts per-connection timeouts
 * @param sendfile whether static files go out with sendfile (zero-copy); off sends them through user space
 *                 in chunks, as needed for file systems where sendfile misbehaves (never used with TLS)
 * @param tls      TLS termination: present makes this an HTTPS listener
 * @param redirectToHttps on a plain listener, answer every request with a redirect to HTTPS instead of routing
 */
public record ListenerConfig(String name, String host, int port, Limits limits, Timeouts timeouts,
                             boolean sendfile, Optional<TlsConfig> tls, Optional<HttpsRedirect> redirectToHttps,
                             SourcePosition position) {

    public ListenerConfig(String name, String host, int port, Limits limits, Timeouts timeouts,
                          SourcePosition position) {
        this(name, host, port, limits, timeouts, true, position);
    }

    public ListenerConfig(String name, String host, int port, Limits limits, Timeouts timeouts,
                          boolean sendfile, SourcePosition position) {
        this(name, host, port, limits, timeouts, sendfile, Optional.empty(), Optional.empty(), position);
    }

    /**
     * Where plain-HTTP requests are sent: {@code https://<host>[:port]<uri>}.
     *
     * @param port     the HTTPS port to name in the redirect; 0 means the bound port of {@code listener}
     * @param listener the name of the TLS listener whose port is used when {@code port} is 0, else null
     */
    public record HttpsRedirect(int port, String listener) {}

    /**
     * @param maxRequestLine           request line bytes before 414
     * @param maxHeaderSize            header section bytes before 431
     * @param maxHeaderCount           header fields before 431
     * @param maxBodySize              request body bytes before 413; 0 means unlimited
     * @param maxConnections           open connections on this listener; more are refused with 503
     * @param maxConnectionsPerClient  open connections from one client address; more are refused with 429; 0 = unlimited
     */
    public record Limits(int maxRequestLine, int maxHeaderSize, int maxHeaderCount, long maxBodySize,
                         int maxConnections, int maxConnectionsPerClient) {
        public static Limits defaults() {
            return new Limits(8 * 1024, 32 * 1024, 100, 10L * 1024 * 1024, 100_000, 0);
        }
    }

    /**
     * @param requestHead time from the first byte of a request to the end of its head (408 when exceeded)
     * @param requestBody longest pause between two reads of a request body (408 when exceeded)
     * @param keepAlive   idle time allowed between requests on one connection
     */
    public record Timeouts(Duration requestHead, Duration requestBody, Duration keepAlive) {
        public static Timeouts defaults() {
            return new Timeouts(Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofSeconds(75));
        }
    }

    public String address() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
