package dev.turnpike.metrics.web;

import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import dev.turnpike.metrics.Dashboard;
import dev.turnpike.metrics.Metrics;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Objects;

/**
 * The live dashboard: one HTML page with its script and style sheet (from the classpath, nothing from the internet)
 * and the event stream it reads ({@code events}: server-sent events, one JSON sample per second, see
 * {@link Dashboard}).
 *
 * <p>Independent of where it is mounted: it looks only at the last path segment. {@code events}, {@code dashboard.js}
 * and {@code dashboard.css} are what they say; a path ending in {@code /} is the page; any other path is redirected
 * to itself plus {@code /}, so that the page's relative links resolve under the mount point (mount it at
 * {@code /dashboard} and at every path under {@code /dashboard/}). The page passes its query string on to the event
 * stream, so a token given in the page's URL reaches the stream too.
 */
public final class DashboardHandler implements Handler {
    private static final AsciiString TEXT_EVENT_STREAM = AsciiString.cached("text/event-stream; charset=utf-8");
    /** Only this page's own resources; no inline script, no other origin. */
    private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
            + " img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private record Asset(byte[] body, String contentType) {}

    private final Dashboard dashboard;
    private final Map<String, Asset> assets;
    private final Asset page;

    /** @param metrics the server's metrics ({@code TurnpikeServer.metrics()}) */
    public DashboardHandler(Metrics metrics) {
        this.dashboard = Objects.requireNonNull(metrics, "metrics").dashboard();
        this.page = new Asset(resource("dashboard.html"), "text/html; charset=utf-8");
        this.assets = Map.of(
                "dashboard.js", new Asset(resource("dashboard.js"), "text/javascript; charset=utf-8"),
                "dashboard.css", new Asset(resource("dashboard.css"), "text/css; charset=utf-8"));
    }

    private static byte[] resource(String name) {
        try (InputStream in = DashboardHandler.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("dashboard resource " + name + " is missing from the classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void handle(Exchange exchange) {
        if (exchange.method() != HttpMethod.GET && exchange.method() != HttpMethod.HEAD) {
            FullHttpResponse r = exchange.services().errors().build(exchange, HttpResponseStatus.METHOD_NOT_ALLOWED,
                    "The dashboard is read with GET.");
            r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            exchange.respond(r);
            return;
        }
        String path = exchange.path();
        String last = path.substring(path.lastIndexOf('/') + 1);
        if (last.equals("events")) {
            stream(exchange);
        } else if (assets.containsKey(last)) {
            send(exchange, assets.get(last));
        } else if (last.isEmpty()) {
            send(exchange, page);
        } else {
            String location = path + "/" + (exchange.query() == null ? "" : "?" + exchange.query());
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.PERMANENT_REDIRECT, Unpooled.EMPTY_BUFFER);
            r.headers().set(HttpHeaderNames.LOCATION, location);
            exchange.respond(r);
        }
    }

    private void send(Exchange exchange, Asset asset) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(asset.body()));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, asset.contentType())
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE)
                .set("Content-Security-Policy", CSP)
                .set("X-Content-Type-Options", "nosniff")
                .set("Referrer-Policy", "no-referrer");
        exchange.respond(r);
    }

    /**
     * The event stream: the history first ({@code event: history}), then one {@code event: sample} per second. A
     * second the client cannot take yet (its connection is not writable) is skipped rather than queued, so a slow
     * client costs at most one sample in flight.
     */
    private void stream(Exchange exchange) {
        if (exchange.method() == HttpMethod.HEAD) {
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, TEXT_EVENT_STREAM);
            exchange.sendHead(head);
            exchange.end();
            return;
        }
        var loop = exchange.eventLoop();
        AutoCloseable subscription = dashboard.subscribe(event -> loop.execute(() -> {
            if (exchange.isFinished()) {
                return;
            }
            if (event == null) {
                exchange.end(LastHttpContent.EMPTY_LAST_CONTENT); // the server is stopping
            } else if (exchange.isWritable()) {
                exchange.sendAndFlush(new DefaultHttpContent(
                        ByteBufUtil.writeUtf8(exchange.alloc(), "event: sample\ndata: " + event + "\n\n")));
            }
        }));
        if (subscription == null) {
            exchange.sendError(HttpResponseStatus.SERVICE_UNAVAILABLE,
                    "Too many dashboards are open; close one and reload.");
            return;
        }
        exchange.onAbort(() -> close(subscription));
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, TEXT_EVENT_STREAM)
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
                .set("X-Accel-Buffering", "no");
        exchange.sendHead(head);
        exchange.sendAndFlush(new DefaultHttpContent(ByteBufUtil.writeUtf8(exchange.alloc(),
                "retry: 2000\nevent: history\ndata: " + dashboard.history() + "\n\n")));
    }

    private static void close(AutoCloseable subscription) {
        try {
            subscription.close();
        } catch (Exception ignored) {
            // removing from a list does not fail
        }
    }
}
