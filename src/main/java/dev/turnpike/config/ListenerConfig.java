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
 * @param http2    HTTP/2 on this listener and its protections
 */
public record ListenerConfig(String name, String host, int port, Limits limits, Timeouts timeouts,
                             boolean sendfile, Optional<TlsConfig> tls, Optional<HttpsRedirect> redirectToHttps,
                             Http2 http2, SourcePosition position) {

    public ListenerConfig(String name, String host, int port, Limits limits, Timeouts timeouts,
                          SourcePosition position) {
        this(name, host, port, limits, timeouts, true, position);
    }

    public ListenerConfig(String name, String host, int port, Limits limits, Timeouts timeouts,
                          boolean sendfile, SourcePosition position) {
        this(name, host, port, limits, timeouts, sendfile, Optional.empty(), Optional.empty(), Http2.defaults(),
                position);
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

    /**
     * HTTP/2 (RFC 9113): over TLS when ALPN selects "h2", and in cleartext ("h2c") with prior knowledge or, when
     * enabled, an {@code Upgrade: h2c} request. The limits are the defences against the known HTTP/2 attacks.
     *
     * @param enabled                 whether HTTP/2 is offered at all
     * @param h2cUpgrade              whether a cleartext HTTP/1.1 request may switch with {@code Upgrade: h2c}
     * @param maxConcurrentStreams    streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS)
     * @param initialWindowSize       request body bytes a stream may send before Turnpike grants more
     * @param connectionWindowSize    request body bytes all streams of a connection may have in flight together
     * @param maxFrameSize            largest frame payload accepted (SETTINGS_MAX_FRAME_SIZE)
     * @param maxHeaderListSize       largest decoded header list of a request (SETTINGS_MAX_HEADER_LIST_SIZE)
     * @param headerTableSize         HPACK dynamic table the client may make Turnpike keep (SETTINGS_HEADER_TABLE_SIZE)
     * @param maxContinuationFrames   small CONTINUATION frames allowed in one header block
     * @param maxResets               RST_STREAM frames a client may send per {@code resetWindow} (rapid reset)
     * @param resetWindow             the window {@code maxResets} is counted over
     * @param maxControlFrames        SETTINGS, PING, PRIORITY, empty DATA and unknown frames per {@code controlFrameWindow}
     * @param controlFrameWindow      the window {@code maxControlFrames} is counted over
     * @param maxQueuedControlFrames  answers (PING/SETTINGS acks, resets) queued for a client that does not read
     * @param flowControlTimeout      how long a stream's response may be stuck (window closed, client not reading)
     */
    public record Http2(boolean enabled, boolean h2cUpgrade, int maxConcurrentStreams, int initialWindowSize,
                        int connectionWindowSize, int maxFrameSize, int maxHeaderListSize, int headerTableSize,
                        int maxContinuationFrames, int maxResets, Duration resetWindow, int maxControlFrames,
                        Duration controlFrameWindow, int maxQueuedControlFrames, Duration flowControlTimeout) {
        public static Http2 defaults() {
            return new Http2(true, false, 128, 64 * 1024, 1024 * 1024, 16 * 1024, 32 * 1024, 4096, 16,
                    200, Duration.ofSeconds(30), 1000, Duration.ofSeconds(10), 10_000, Duration.ofSeconds(30));
        }
    }

    public String address() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
