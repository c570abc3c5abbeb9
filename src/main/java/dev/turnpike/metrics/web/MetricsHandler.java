package dev.turnpike.metrics.web;

import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import dev.turnpike.metrics.Metrics;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.OpenMetricsTextFormatWriter;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.zip.GZIPOutputStream;

/**
 * Serves the server's metrics in the Prometheus text format (OpenMetrics when the scraper asks for it), gzipped when
 * accepted. Answers every path it is mounted at the same way, so it can be mounted anywhere (the admin listener puts
 * it at {@code /metrics}). The scrape reads every series and the JVM's beans, so it runs on the blocking pool and the
 * answer is sent from the exchange's event loop.
 */
public final class MetricsHandler implements Handler {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsHandler.class);

    private final Metrics metrics;
    private final Executor blockingExecutor;
    private final PrometheusTextFormatWriter text = PrometheusTextFormatWriter.create();
    private final OpenMetricsTextFormatWriter openMetrics = OpenMetricsTextFormatWriter.create();

    /**
     * @param metrics          the server's metrics ({@code TurnpikeServer.metrics()})
     * @param blockingExecutor where the scrape runs ({@code HandlerContext.blockingExecutor()})
     */
    public MetricsHandler(Metrics metrics, Executor blockingExecutor) {
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.blockingExecutor = Objects.requireNonNull(blockingExecutor, "blockingExecutor");
    }

    @Override
    public void handle(Exchange exchange) {
        if (exchange.method() != HttpMethod.GET && exchange.method() != HttpMethod.HEAD) {
            FullHttpResponse r = exchange.services().errors().build(exchange, HttpResponseStatus.METHOD_NOT_ALLOWED,
                    "Metrics are read with GET.");
            r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            exchange.respond(r);
            return;
        }
        String accept = exchange.requestHeaders().get(HttpHeaderNames.ACCEPT);
        String acceptEncoding = exchange.requestHeaders().get(HttpHeaderNames.ACCEPT_ENCODING);
        ExpositionFormatWriter writer = openMetrics.accepts(accept) ? openMetrics : text;
        boolean gzip = acceptEncoding != null && acceptEncoding.toLowerCase(java.util.Locale.ROOT).contains("gzip");
        try {
            blockingExecutor.execute(() -> {
                byte[] body;
                try {
                    body = render(writer, metrics.scrape(), gzip);
                } catch (IOException | RuntimeException e) {
                    LOG.warn("metrics scrape failed", e);
                    exchange.eventLoop().execute(() -> exchange.sendError(HttpResponseStatus.INTERNAL_SERVER_ERROR,
                            "The metrics could not be collected."));
                    return;
                }
                exchange.eventLoop().execute(() -> {
                    if (exchange.isFinished()) {
                        return; // the scraper gave up meanwhile
                    }
                    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                            Unpooled.wrappedBuffer(body));
                    r.headers().set(HttpHeaderNames.CONTENT_TYPE, writer.getContentType())
                            .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
                            .set(HttpHeaderNames.VARY, HttpHeaderNames.ACCEPT_ENCODING);
                    if (gzip) {
                        r.headers().set(HttpHeaderNames.CONTENT_ENCODING, HttpHeaderValues.GZIP);
                    }
                    exchange.respond(r);
                });
            });
        } catch (RejectedExecutionException e) {
            exchange.sendError(HttpResponseStatus.SERVICE_UNAVAILABLE, "The server is too busy to collect metrics.");
        }
    }

    static byte[] render(ExpositionFormatWriter writer, MetricSnapshots snapshots, boolean gzip) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 * 1024);
        try (OutputStream out = gzip ? new GZIPOutputStream(bytes, 8192) : bytes) {
            writer.write(out, snapshots);
        }
        return bytes.toByteArray();
    }
}
