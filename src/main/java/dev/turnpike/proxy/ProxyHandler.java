package dev.turnpike.proxy;

import dev.turnpike.config.HandlerConfig;
import dev.turnpike.handler.HandlerContext;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import dev.turnpike.upstream.ConnectionPools;
import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.PoolConfig;
import dev.turnpike.upstream.cluster.ClusterRuntime;
import dev.turnpike.upstream.cluster.MirrorTarget;
import dev.turnpike.upstream.cluster.WeightedSplit;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;

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

    public ProxyHandler(HandlerConfig.Proxy config, HandlerContext context) {
        String strip = config.stripPrefix().orElse("");
        while (strip.endsWith("/")) {
            strip = strip.substring(0, strip.length() - 1);
        }
        this.stripPrefix = strip;
        this.preserveHost = config.preserveHost();
        this.responseTimeoutNanos = config.responseTimeout().toNanos();
        this.idleTimeoutNanos = config.idleTimeout().toNanos();
        this.mirror = config.mirror().map(m -> context.clusters().mirror(m)).orElse(null);
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
    }

    @Override
    public void handle(Exchange exchange) {
        HttpRequest in = exchange.request();
        HttpRequest out = new DefaultHttpRequest(HttpVersion.HTTP_1_1, in.method(),
                upstreamTarget(exchange.path(), exchange.query()), headers.requestHeaders(exchange));
        boolean hasBody = HttpUtil.isTransferEncodingChunked(in) || HttpUtil.getContentLength(in, 0L) > 0;
        if (pools != null) {
            exchange.upstreamAttempt(upstreamAddress);
            new ProxyCall(this, exchange, pools.pool(exchange.eventLoop(), endpoint, exchange.alloc()), out, hasBody)
                    .start();
            return;
        }
        ClusterRuntime c = cluster != null ? cluster : split.pick();
        exchange.upstreamCluster(c.name());
        new ProxyCall(this, exchange, c, out, hasBody).start();
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
