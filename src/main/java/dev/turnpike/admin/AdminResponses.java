package dev.turnpike.admin;

import dev.turnpike.http.BodySink;
import dev.turnpike.http.Exchange;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/** Answers of admin endpoints: JSON bodies, errors as JSON, the method check and reading a small request body. */
public final class AdminResponses {
    public static final AsciiString APPLICATION_JSON = AsciiString.cached("application/json; charset=utf-8");

    private AdminResponses() {}

    /** Answers {@code status} with {@code tree} as JSON ({@link Json}); never cached. */
    public static void json(Exchange exchange, HttpResponseStatus status, Object tree, CharSequence... headers) {
        if (exchange.isFinished()) {
            return;
        }
        ByteBuf body = ByteBufUtil.writeUtf8(exchange.alloc(), Json.write(tree));
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, APPLICATION_JSON)
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        for (int i = 0; i + 1 < headers.length; i += 2) {
            r.headers().set(headers[i], headers[i + 1]);
        }
        exchange.respond(r);
    }

    /** {@code {"error": "<reason phrase>", "message": message}} with {@code status}, and extra header pairs. */
    public static void error(Exchange exchange, HttpResponseStatus status, String message, CharSequence... headers) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", status.reasonPhrase().toLowerCase(java.util.Locale.ROOT));
        body.put("message", message);
        json(exchange, status, body, headers);
    }

    /**
     * Whether the request's method is one of {@code methods} (HEAD counts as GET); otherwise answers 405 with
     * {@code Allow} and returns false.
     */
    public static boolean allow(Exchange exchange, HttpMethod... methods) {
        HttpMethod m = exchange.method();
        for (HttpMethod allowed : methods) {
            if (m.equals(allowed) || (m.equals(HttpMethod.HEAD) && allowed.equals(HttpMethod.GET))) {
                return true;
            }
        }
        String allow = String.join(", ", Arrays.stream(methods).map(HttpMethod::name).toList());
        error(exchange, HttpResponseStatus.METHOD_NOT_ALLOWED, m.name() + " is not allowed here; use " + allow,
                HttpHeaderNames.ALLOW, allow);
        return false;
    }

    /**
     * Reads the request body as UTF-8 text, up to {@code max} bytes (413 beyond), then calls {@code then} on the
     * exchange's event loop.
     */
    public static void readBody(Exchange exchange, int max, Consumer<String> then) {
        ByteBuf body = Unpooled.buffer(256);
        exchange.subscribeBody(new BodySink() {
            private boolean tooLarge;

            @Override
            public void onContent(HttpContent content) {
                append(content);
            }

            @Override
            public void onEnd(LastHttpContent last) {
                append(last);
                try {
                    if (tooLarge) {
                        error(exchange, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                                "the request body is larger than " + max + " bytes");
                    } else {
                        then.accept(body.toString(StandardCharsets.UTF_8));
                    }
                } finally {
                    body.release();
                }
            }

            private void append(HttpContent c) {
                try {
                    if (body.readableBytes() + c.content().readableBytes() > max) {
                        tooLarge = true;
                    } else if (!tooLarge) {
                        body.writeBytes(c.content());
                    }
                } finally {
                    c.release();
                }
            }

            @Override
            public void onError(Throwable cause) {
                body.release();
            }
        });
    }
}
