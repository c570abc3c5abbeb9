package dev.turnpike.proxy;

import dev.turnpike.config.HandlerConfig;
import dev.turnpike.handler.HandlerContext;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import dev.turnpike.upstream.ConnectionPools;
import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.PoolConfig;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;

/**
 * Reverse proxy to one upstream origin. Everything that depends only on the configuration (endpoint, paths,
 * header rules, pools) is built here once; each request gets a {@link ProxyCall} that runs it on the client
 * connection's event loop, over a connection from that loop's pool.
 */
public final class ProxyHandler implements Handler {
    private final Endpoint endpoint;
    private final String upstreamAddress;
    private final String basePath;
    private final String stripPrefix;
    private final ProxyHeaders headers;
    private final ConnectionPools pools;
    final long responseTimeoutNanos;
    final long idleTimeoutNanos;
    /** The longest a connection's timer sleeps: a deadline is never missed by more than this. */
    final long timerSliceNanos;

    public ProxyHandler(HandlerConfig.Proxy config, HandlerContext context) {
        this.endpoint = Endpoint.of(config.upstream());
        this.upstreamAddress = endpoint.authority();
        String base = config.upstream().getRawPath() == null ? "" : config.upstream().getRawPath();
        while (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        this.basePath = base;
        String strip = config.stripPrefix().orElse("");
        while (strip.endsWith("/")) {
            strip = strip.substring(0, strip.length() - 1);
        }
        this.stripPrefix = strip;
        this.headers = new ProxyHeaders(AsciiString.cached(endpoint.hostHeader()), config.preserveHost(),
                config.setHeaders());
        this.pools = new ConnectionPools(PoolConfig.of(config.connectTimeout(), config.maxIdlePerLoop()),
                context.socketChannelClass(), context.blockingExecutor());
        this.responseTimeoutNanos = config.responseTimeout().toNanos();
        this.idleTimeoutNanos = config.idleTimeout().toNanos();
        this.timerSliceNanos = Math.max(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(1),
                Math.min(responseTimeoutNanos, idleTimeoutNanos));
    }

    @Override
    public void handle(Exchange exchange) {
        HttpRequest in = exchange.request();
        HttpRequest out = new DefaultHttpRequest(HttpVersion.HTTP_1_1, in.method(),
                upstreamTarget(exchange.path(), exchange.query()), headers.requestHeaders(exchange));
        boolean hasBody = HttpUtil.isTransferEncodingChunked(in) || HttpUtil.getContentLength(in, 0L) > 0;
        exchange.upstreamAddress(upstreamAddress);
        new ProxyCall(this, exchange, pools.pool(exchange.eventLoop(), endpoint, exchange.alloc()), out, hasBody)
                .start();
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

    /** Closes the pooled connections; connections in use close when their exchange ends. */
    @Override
    public void close() {
        pools.close();
    }
}
