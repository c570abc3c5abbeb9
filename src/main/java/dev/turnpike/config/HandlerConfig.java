package dev.turnpike.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The terminal handler of a route: exactly one per route. */
public sealed interface HandlerConfig {

    /**
     * Serves files below {@code root}.
     *
     * @param root          directory to serve (resolved to an absolute real path at load time)
     * @param index         file names tried for a directory request
     * @param spaFallback   file (relative to root) served with 200 when nothing else matches, for single-page apps
     * @param listing       directory listing when no index file exists
     * @param showHidden    serve dotfiles (hidden by default)
     * @param precompressed serve {@code .br} / {@code .gz} siblings to clients that accept them
     * @param cacheControl  Cache-Control header value for served files
     * @param stripPrefix   path prefix removed before mapping to the file system
     */
    record Static(Path root, List<String> index, Optional<String> spaFallback, Listing listing, boolean showHidden,
                  boolean precompressed, Optional<String> cacheControl, Optional<String> stripPrefix)
            implements HandlerConfig {
        public enum Listing { OFF, ON }
    }

    /**
     * Forwards to an upstream: one origin given by URL, a named cluster, or a weighted split across clusters.
     *
     * @param upstream        {@code http://host:port} origin, optionally with a base path that is prepended; null
     *                        when the route names a cluster or a split
     * @param connectTimeout  TCP connect timeout (URL form; a cluster has its own)
     * @param responseTimeout time from the request being sent to the first response byte (504 when exceeded)
     * @param idleTimeout     longest pause between two reads of the response body
     * @param preserveHost    send the client's Host header instead of the upstream's authority
     * @param stripPrefix     path prefix removed before forwarding
     * @param setHeaders      request headers set (replaced) before forwarding; empty value removes
     * @param maxIdlePerLoop  idle keep-alive connections kept per event loop
     * @param cluster         the cluster requests go to, when the route names one
     * @param split           weighted split across clusters (canary); empty when not used
     * @param mirror          a shadow cluster that gets a copy of requests; its answers are discarded
     * @param timeouts        the route's own stage timeouts, replacing its clusters' (cluster and split forms)
     * @param streaming       every response of the route is a stream (as {@code text/event-stream} responses
     *                        always are): flushed chunk by chunk, never cut by the total timeout
     * @param websocket       how WebSocket handshakes on the route are handled
     * @param grpcWeb         gRPC-Web requests are translated to gRPC for the (HTTP/2) cluster; empty when off
     */
    record Proxy(URI upstream, Duration connectTimeout, Duration responseTimeout, Duration idleTimeout,
                 boolean preserveHost, Optional<String> stripPrefix, Map<String, String> setHeaders,
                 int maxIdlePerLoop, Optional<String> cluster, List<WeightedCluster> split, Optional<Mirror> mirror,
                 RouteTimeouts timeouts, boolean streaming, WebSocket websocket, Optional<GrpcWeb> grpcWeb)
            implements HandlerConfig {
        public Proxy {
            setHeaders = Map.copyOf(setHeaders);
            split = List.copyOf(split);
            if (grpcWeb == null) {
                grpcWeb = Optional.empty();
            }
        }

        /** Without gRPC-Web. */
        public Proxy(URI upstream, Duration connectTimeout, Duration responseTimeout, Duration idleTimeout,
                     boolean preserveHost, Optional<String> stripPrefix, Map<String, String> setHeaders,
                     int maxIdlePerLoop, Optional<String> cluster, List<WeightedCluster> split,
                     Optional<Mirror> mirror, RouteTimeouts timeouts, boolean streaming, WebSocket websocket) {
            this(upstream, connectTimeout, responseTimeout, idleTimeout, preserveHost, stripPrefix, setHeaders,
                    maxIdlePerLoop, cluster, split, mirror, timeouts, streaming, websocket, Optional.empty());
        }

        /** Without the long-lived traffic settings and gRPC-Web: the defaults. */
        public Proxy(URI upstream, Duration connectTimeout, Duration responseTimeout, Duration idleTimeout,
                     boolean preserveHost, Optional<String> stripPrefix, Map<String, String> setHeaders,
                     int maxIdlePerLoop, Optional<String> cluster, List<WeightedCluster> split,
                     Optional<Mirror> mirror) {
            this(upstream, connectTimeout, responseTimeout, idleTimeout, preserveHost, stripPrefix, setHeaders,
                    maxIdlePerLoop, cluster, split, mirror, RouteTimeouts.NONE, false, WebSocket.defaults(),
                    Optional.empty());
        }

        /** The single-URL form. */
        public Proxy(URI upstream, Duration connectTimeout, Duration responseTimeout, Duration idleTimeout,
                     boolean preserveHost, Optional<String> stripPrefix, Map<String, String> setHeaders,
                     int maxIdlePerLoop) {
            this(upstream, connectTimeout, responseTimeout, idleTimeout, preserveHost, stripPrefix, setHeaders,
                    maxIdlePerLoop, Optional.empty(), List.of(), Optional.empty());
        }
    }

    /**
     * A proxy route's own stage timeouts (cluster and split forms): each one given replaces the cluster's for this
     * route's requests, so that one long-polling route does not stretch the timeouts of every route to its cluster.
     *
     * @param firstByte from the request being sent to the first byte of the response head
     * @param idle      longest pause between two reads of the response body (streams included)
     * @param total     the whole exchange; zero is off
     */
    record RouteTimeouts(Optional<Duration> firstByte, Optional<Duration> idle, Optional<Duration> total) {
        public static final RouteTimeouts NONE = new RouteTimeouts(Optional.empty(), Optional.empty(), Optional.empty());
    }

    /**
     * WebSocket proxying on a proxy route.
     *
     * @param enabled                 handshakes ({@code Upgrade: websocket}) are validated and forwarded, and the
     *                                connection is spliced to the upstream after its 101; when false the Upgrade
     *                                header is ignored (RFC 9110 allows it) and the request goes on as a plain one
     * @param inspect                 the client's frames are decoded (Netty's WebSocket codec), so that the frame
     *                                and message limits and UTF-8 validity of text are enforced; off, frames pass
     *                                as raw bytes
     * @param maxFrameSize            the largest frame payload a client may send (inspect only): bigger closes
     *                                with 1009
     * @param maxMessageSize          the largest message (all fragments) a client may send (inspect only)
     * @param idleTimeout             no byte either way for this long ends the connection (close 1001 both ways);
     *                                like HAProxy's {@code timeout tunnel}
     * @param maxConnections          open WebSockets on this route; over it a handshake gets 503 (0 = no limit)
     * @param maxConnectionsPerClient open WebSockets on this route per client address; over it 429 (0 = no limit)
     * @param allowedOrigins          browser origins allowed to connect ({@code https://app.example.com}, or
     *                                {@code https://*.example.com}); empty allows any; another origin gets 403
     */
    record WebSocket(boolean enabled, boolean inspect, int maxFrameSize, long maxMessageSize, Duration idleTimeout,
                     int maxConnections, int maxConnectionsPerClient, List<String> allowedOrigins) {
        public static final int DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;
        public static final long DEFAULT_MAX_MESSAGE_SIZE = 16L * 1024 * 1024;
        public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofHours(1);

        public WebSocket {
            allowedOrigins = List.copyOf(allowedOrigins);
        }

        public static WebSocket defaults() {
            return new WebSocket(true, false, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_IDLE_TIMEOUT,
                    0, 0, List.of());
        }

        public static WebSocket disabled() {
            return new WebSocket(false, false, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_IDLE_TIMEOUT,
                    0, 0, List.of());
        }
    }

    /**
     * gRPC-Web for browsers on a proxy route.
     *
     * @param allowOrigins origins (such as {@code https://app.example.com}, {@code https://*.example.com}, or
     *                     {@code *}) whose pages may call the route cross-origin: their CORS preflights are answered
     *                     and responses carry the CORS headers; empty when only same-origin pages call it
     */
    record GrpcWeb(List<String> allowOrigins) {
        public GrpcWeb {
            allowOrigins = List.copyOf(allowOrigins);
        }
    }

    /** One leg of a weighted split: {@code weight} out of the sum of all legs' weights goes to {@code cluster}. */
    record WeightedCluster(String cluster, int weight) {}

    /**
     * Request mirroring.
     *
     * @param cluster cluster that receives the copies
     * @param percent share of requests mirrored, 1..100
     */
    record Mirror(String cluster, int percent) {}

    /** Answers directly. Body and header values may use placeholders such as {@code {path}}. */
    record Respond(int status, String body, Map<String, String> headers) implements HandlerConfig {
        public Respond {
            headers = Map.copyOf(headers);
        }
    }

    /** Redirects to {@code target}, which may use placeholders such as {@code {uri}}. */
    record Redirect(int status, String target) implements HandlerConfig {}
}
