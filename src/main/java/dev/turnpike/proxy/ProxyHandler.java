package dev.turnpike.proxy;

import dev.turnpike.config.HandlerConfig;
import dev.turnpike.handler.HandlerContext;
import dev.turnpike.http.Exchange;
import dev.turnpike.grpc.GrpcWebCall;
import dev.turnpike.http.Handler;
import dev.turnpike.upstream.ConnectionPools;
import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.PoolConfig;
import dev.turnpike.upstream.cluster.ClusterRuntime;
import dev.turnpike.upstream.cluster.MirrorTarget;
import dev.turnpike.upstream.cluster.WeightedSplit;
import dev.turnpike.websocket.WebSocketHandshake;
import dev.turnpike.websocket.WebSocketRoute;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;

import java.time.Duration;
import java.util.Optional;

/**
 * Reverse proxy to one upstream origin (URL form) or to an upstream cluster ({@code cluster} or a weighted
 * {@code split} across clusters). Everything that depends only on the configuration (endpoint or cluster, paths,
 * header rules, pools) is resolved here once; each request gets a {@link ProxyCall} that runs it on the client
 * connection's event loop, over a connection from that loop's pool. The URL form owns its pools; a cluster owns
 * its own ({@link ClusterRuntime#pools()}), shared by every route to it.
 */
public final class ProxyHandler implements Handler {
    /** The Host header placeholder of the cluster forms: each attempt sets its endpoint's. */
    private static final AsciiString CLUSTER_HOST = AsciiString.cached("localhost");

    private final Endpoint endpoint;
    private final String upstreamAddress;
    private final String basePath;
    private final String stripPrefix;
    private final ProxyHeaders headers;
    private final ConnectionPools pools;
    /** The cluster of the {@code cluster} form, else null. */
    private final ClusterRuntime cluster;
    /** The clusters of the {@code split} form, else null. */
    private final WeightedSplit<ClusterRuntime> split;
    /** The route's shadow cluster, or null. */
    final MirrorTarget mirror;
    final boolean preserveHost;
    final long responseTimeoutNanos;
    final long idleTimeoutNanos;
    /** The route's own stage timeouts (cluster forms), or -1 to use the cluster's. */
    final long firstByteNanos;
    final long routeIdleNanos;
    final long totalNanos;
    /** Every response of the route is a stream (flushed per part, no total timeout). */
    final boolean streaming;
    /** WebSocket handling, or null when the route has it off (Upgrade is then ignored). */
    private final WebSocketRoute websocket;
    /** The route's target speaks HTTP/2 (a cluster, or a leg of its split): no WebSocket upgrade over a stream. */
    private final boolean http2Target;
    /** gRPC-Web on this route: null when off; its CORS origins may be empty. */
    private final GrpcWebCors grpcWeb;

    public ProxyHandler(HandlerConfig.Proxy config, HandlerContext context) {
        String strip = config.stripPrefix().orElse("");
        while (strip.endsWith("/")) {
            strip = strip.substring(0, strip.length() - 1);
        }
        this.stripPrefix = strip;
        this.preserveHost = config.preserveHost();
        this.responseTimeoutNanos = config.responseTimeout().toNanos();
        this.idleTimeoutNanos = config.idleTimeout().toNanos();
        this.firstByteNanos = nanosOrUnset(config.timeouts().firstByte());
        this.routeIdleNanos = nanosOrUnset(config.timeouts().idle());
        this.totalNanos = nanosOrUnset(config.timeouts().total());
        this.streaming = config.streaming();
        this.websocket = WebSocketRoute.of(config.websocket());
        this.mirror = config.mirror().map(m -> context.clusters().mirror(m)).orElse(null);
        this.grpcWeb = config.grpcWeb().map(g -> new GrpcWebCors(g.allowOrigins())).orElse(null);
        if (config.upstream() != null) {
            this.endpoint = Endpoint.of(config.upstream());
            this.upstreamAddress = endpoint.authority();
            String base = config.upstream().getRawPath() == null ? "" : config.upstream().getRawPath();
            while (base.endsWith("/")) {
                base = base.substring(0, base.length() - 1);
            }
            this.basePath = base;
            this.headers = new ProxyHeaders(AsciiString.cached(endpoint.hostHeader()), config.preserveHost(),
                    config.setHeaders());
            this.pools = new ConnectionPools(PoolConfig.of(config.connectTimeout(), config.maxIdlePerLoop()),
                    context.socketChannelClass(), context.blockingExecutor());
            this.cluster = null;
            this.split = null;
        } else {
            this.endpoint = null;
            this.upstreamAddress = null;
            this.basePath = "";
            this.headers = new ProxyHeaders(CLUSTER_HOST, config.preserveHost(), config.setHeaders());
            this.pools = null;
            if (config.cluster().isPresent()) {
                this.cluster = context.clusters().require(config.cluster().get());
                this.split = null;
            } else if (!config.split().isEmpty()) {
                this.cluster = null;
                this.split = context.clusters().split(config.split());
            } else {
                throw new IllegalArgumentException("a proxy route needs an upstream URL, a cluster or a split");
            }
        }
        this.http2Target = cluster != null ? cluster.poolConfig().protocol().isHttp2()
                : split != null && split.legs().stream().anyMatch(l -> l.target().poolConfig().protocol().isHttp2());
    }

    private static long nanosOrUnset(Optional<Duration> d) {
        return d.map(Duration::toNanos).orElse(-1L);
    }

    @Override
    public void handle(Exchange exchange) {
        HttpRequest in = exchange.request();
        if (websocket != null && !http2Target && WebSocketHandshake.isRequested(in.headers())) {
            // Over HTTP/2 an Upgrade cannot be forwarded (RFC 9113 §8.6): the request goes on as a plain one.
            handleWebSocket(exchange, false);
            return;
        }
        if (in.method() == HttpMethod.CONNECT) {
            // Only an RFC 8441 extended CONNECT gets this far (both transports refuse a plain CONNECT), and it
            // cannot be forwarded as such: it becomes an HTTP/1.1 upgrade, or nothing.
            if (websocket != null && !http2Target && WebSocketHandshake.isRequestedOverHttp2(in)) {
                handleWebSocket(exchange, true);
            } else {
                exchange.sendError(HttpResponseStatus.NOT_IMPLEMENTED,
                        "This route does not serve WebSockets over HTTP/2.");
            }
            return;
        }
        GrpcWebCall web = null;
        if (grpcWeb != null) {
            if (grpcWeb.handle(exchange)) {
                return; // a CORS preflight, answered
            }
            web = GrpcWebCall.of(in.headers().get(HttpHeaderNames.CONTENT_TYPE));
        }
        HttpRequest out = new DefaultHttpRequest(HttpVersion.HTTP_1_1, in.method(),
                upstreamTarget(exchange.path(), exchange.query()), headers.requestHeaders(exchange));
        if (web != null) {
            web.requestHeaders(out.headers());
        }
        boolean hasBody = HttpUtil.isTransferEncodingChunked(in) || HttpUtil.getContentLength(in, 0L) > 0;
        newCall(exchange, out, hasBody, web).start();
    }

    private ProxyCall newCall(Exchange exchange, HttpRequest out, boolean hasBody, GrpcWebCall web) {
        if (pools != null) {
            exchange.upstreamAttempt(upstreamAddress);
            return new ProxyCall(this, exchange, pools.pool(exchange.eventLoop(), endpoint, exchange.alloc()), out,
                    hasBody);
        }
        ClusterRuntime c = cluster != null ? cluster : split.pick();
        exchange.upstreamCluster(c.name());
        return new ProxyCall(this, exchange, c, out, hasBody, web);
    }

    /**
     * A WebSocket handshake: checked against RFC 6455 and the route's origin allow-list and connection limits
     * before anything goes upstream (each refusal has its own status), then forwarded with its Upgrade through the
     * same endpoint choice, retries and timeouts as any request. A body is not allowed (the check needs GET
     * and a switch needs the request complete), so none is forwarded.
     *
     * <p>{@code overHttp2}: an RFC 8441 extended CONNECT, checked by its own rules, with the same route match,
     * origin check and limits. The upstream still gets an HTTP/1.1 upgrade: a GET with a key made up here (the
     * upstream's 101 is checked against it), the client's subprotocols and extensions (frames pass unmodified, so
     * permessage-deflate works when both ends agree on it); the client gets a 200 (see the HTTP/2 transport).
     */
    private void handleWebSocket(Exchange exchange, boolean overHttp2) {
        HttpRequest in = exchange.request();
        WebSocketHandshake.Rejection bad = overHttp2 ? WebSocketHandshake.checkOverHttp2(in)
                : WebSocketHandshake.check(in);
        if (bad == null && (HttpUtil.isTransferEncodingChunked(in) || HttpUtil.getContentLength(in, 0L) > 0)) {
            bad = new WebSocketHandshake.Rejection(HttpResponseStatus.BAD_REQUEST,
                    "A WebSocket handshake has no body.");
        }
        if (bad != null) {
            FullHttpResponse r = exchange.services().errors().build(exchange, bad.status(), bad.detail());
            if (bad.status().code() == HttpResponseStatus.UPGRADE_REQUIRED.code()) {
                r.headers().set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, WebSocketHandshake.VERSION);
            }
            exchange.respond(r);
            return;
        }
        if (!websocket.originAllowed(in.headers().get(HttpHeaderNames.ORIGIN))) {
            exchange.sendError(HttpResponseStatus.FORBIDDEN, "This origin may not open a WebSocket here.");
            return;
        }
        WebSocketRoute.Admission admission = websocket.tryAcquire(exchange.clientAddress());
        if (admission.lease() == null) {
            FullHttpResponse r = exchange.services().errors().build(exchange, admission.refusal(),
                    admission.detail());
            r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
            exchange.respond(r);
            return;
        }
        HttpHeaders h = headers.requestHeaders(exchange); // hop-by-hop fields (Upgrade, Connection) are gone
        String key = in.headers().get(HttpHeaderNames.SEC_WEBSOCKET_KEY);
        if (overHttp2) {
            h.remove(WebSocketHandshake.H2_PROTOCOL);
            key = WebSocketHandshake.newKey();
            h.set(HttpHeaderNames.SEC_WEBSOCKET_KEY, key)
                    .set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, WebSocketHandshake.VERSION);
        }
        h.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET).set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
        HttpRequest out = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET,
                upstreamTarget(exchange.path(), exchange.query()), h);
        newCall(exchange, out, false, null)
                .websocket(websocket, admission.lease(), key)
                .start();
    }

    /** The route's WebSocket handling, or null when it is off. */
    public WebSocketRoute websocket() {
        return websocket;
    }

    /** The upstream request target: the path without the strip prefix, under the base path, with the query. */
    String upstreamTarget(String path, String query) {
        String p = path;
        if (!stripPrefix.isEmpty() && p.startsWith(stripPrefix)
                && (p.length() == stripPrefix.length() || p.charAt(stripPrefix.length()) == '/')) {
            p = p.length() == stripPrefix.length() ? "/" : p.substring(stripPrefix.length());
        }
        if (!basePath.isEmpty()) {
            p = basePath + p;
        }
        return query == null ? p : p + '?' + query;
    }

    /** Closes the URL form's pooled connections (a cluster's close with its snapshot). */
    @Override
    public void close() {
        if (pools != null) {
            pools.close();
        }
    }
}
