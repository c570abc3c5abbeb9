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
     */
    record Proxy(URI upstream, Duration connectTimeout, Duration responseTimeout, Duration idleTimeout,
                 boolean preserveHost, Optional<String> stripPrefix, Map<String, String> setHeaders,
                 int maxIdlePerLoop, Optional<String> cluster, List<WeightedCluster> split, Optional<Mirror> mirror)
            implements HandlerConfig {
        public Proxy {
            setHeaders = Map.copyOf(setHeaders);
            split = List.copyOf(split);
        }

        /** The single-URL form. */
        public Proxy(URI upstream, Duration connectTimeout, Duration responseTimeout, Duration idleTimeout,
                     boolean preserveHost, Optional<String> stripPrefix, Map<String, String> setHeaders,
                     int maxIdlePerLoop) {
            this(upstream, connectTimeout, responseTimeout, idleTimeout, preserveHost, stripPrefix, setHeaders,
                    maxIdlePerLoop, Optional.empty(), List.of(), Optional.empty());
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
