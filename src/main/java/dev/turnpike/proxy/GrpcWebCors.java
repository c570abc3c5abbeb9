package dev.turnpike.proxy;

import dev.turnpike.grpc.Grpc;
import dev.turnpike.http.AllowedOrigins;
import dev.turnpike.http.Exchange;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;

import java.util.List;
import java.util.regex.Pattern;

/**
 * CORS for a gRPC-Web route ({@code grpc_web: {allow_origins: [...]}}): browsers call gRPC-Web cross-origin with
 * custom headers, so they ask first (a preflight), and they only let the page read {@code grpc-status} when the
 * response exposes it. Only the configured origins get an answer; with none configured, nothing is added (same-origin
 * pages need no CORS). Credentials (cookies) are never allowed: a page on another origin may only send what it puts in
 * headers itself, such as an Authorization token.
 */
final class GrpcWebCors {
    private static final AsciiString ALLOW_ORIGIN = AsciiString.cached("access-control-allow-origin");
    private static final AsciiString ALLOW_METHODS = AsciiString.cached("access-control-allow-methods");
    private static final AsciiString ALLOW_HEADERS = AsciiString.cached("access-control-allow-headers");
    private static final AsciiString EXPOSE_HEADERS = AsciiString.cached("access-control-expose-headers");
    private static final AsciiString MAX_AGE = AsciiString.cached("access-control-max-age");
    private static final AsciiString REQUEST_METHOD = AsciiString.cached("access-control-request-method");
    private static final AsciiString REQUEST_HEADERS = AsciiString.cached("access-control-request-headers");
    private static final String EXPOSED = "grpc-status, grpc-message, grpc-status-details-bin";
    /** How long a browser may cache a preflight: a day (browsers cap it lower anyway). */
    private static final String PREFLIGHT_MAX_AGE = "86400";
    /** A header list as browsers send it: tokens separated by commas. */
    private static final Pattern HEADER_LIST = Pattern.compile("[!#$%&'*+\\-.^_`|~0-9A-Za-z]+(\\s*,\\s*"
            + "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+)*");

    private final AllowedOrigins origins;

    GrpcWebCors(List<String> allowOrigins) {
        this.origins = new AllowedOrigins(allowOrigins);
    }

    /**
     * Adds the CORS headers an allowed origin gets to whatever the exchange answers, and answers a preflight itself.
     *
     * @return true when the exchange was answered (a preflight)
     */
    boolean handle(Exchange exchange) {
        HttpHeaders req = exchange.requestHeaders();
        String origin = req.get(HttpHeaderNames.ORIGIN);
        boolean allowed = origins.contains(origin);
        boolean anyOrigin = origins.any();
        boolean preflight = exchange.method() == HttpMethod.OPTIONS && req.contains(REQUEST_METHOD);
        if (allowed) {
            exchange.addResponseHeader(ALLOW_ORIGIN, anyOrigin ? "*" : origin);
            if (!anyOrigin) {
                exchange.addResponseHeader(HttpHeaderNames.VARY, HttpHeaderNames.ORIGIN);
            }
            if (!preflight) {
                exchange.addResponseHeader(EXPOSE_HEADERS, EXPOSED);
            }
        }
        if (!preflight) {
            return false;
        }
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NO_CONTENT,
                Unpooled.EMPTY_BUFFER);
        if (allowed) {
            r.headers().set(ALLOW_METHODS, "POST, OPTIONS");
            String wanted = req.get(REQUEST_HEADERS);
            r.headers().set(ALLOW_HEADERS, wanted != null && HEADER_LIST.matcher(wanted.strip()).matches()
                    ? wanted.strip() : "content-type, x-grpc-web, x-user-agent, " + Grpc.GRPC_TIMEOUT);
            r.headers().set(MAX_AGE, PREFLIGHT_MAX_AGE);
        }
        exchange.respond(r);
        return true;
    }
}
