package dev.turnpike.http;

import dev.turnpike.config.ErrorPages;
import dev.turnpike.grpc.Grpc;
import dev.turnpike.grpc.GrpcErrors;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;

import java.util.Optional;

/**
 * Builds the responses for errors Turnpike itself generates. The client's Accept header chooses HTML or JSON;
 * a custom page of the route, else of the site, replaces the built-in body. Details are written for the
 * client and never contain internal addresses. A gRPC call ({@code application/grpc*}) gets a gRPC status instead
 * ({@link GrpcErrors}).
 */
public final class ErrorResponder {
    public static final AsciiString TEXT_HTML_UTF8 = AsciiString.cached("text/html; charset=utf-8");
    public static final AsciiString APPLICATION_JSON = AsciiString.cached("application/json");

    public FullHttpResponse build(Exchange exchange, HttpResponseStatus status, String detail) {
        String contentType = exchange.requestHeaders().get(HttpHeaderNames.CONTENT_TYPE);
        if (Grpc.isGrpc(contentType)) {
            // A gRPC client reads grpc-status, not a page: the error is a gRPC status (custom pages do not apply).
            return GrpcErrors.response(contentType, status, detail);
        }
        boolean json = ContentNegotiation.prefersJson(exchange.requestHeaders().get(HttpHeaderNames.ACCEPT));
        String body = customBody(exchange.routeErrorPages(), status.code(), json)
                .or(() -> customBody(exchange.siteErrorPages(), status.code(), json))
                .orElse(null);
        boolean bodyIsJson = json;
        if (body == null) {
            body = json ? defaultJson(status, detail, exchange.requestId()) : defaultHtml(status, detail, exchange.requestId());
        } else {
            bodyIsJson = looksLikeJson(body, json);
        }
        ByteBuf buf = ByteBufUtil.writeUtf8(exchange.alloc(), body);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, buf);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, bodyIsJson ? APPLICATION_JSON : TEXT_HTML_UTF8)
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, buf.readableBytes());
        return response;
    }

    private static Optional<String> customBody(ErrorPages pages, int status, boolean json) {
        return pages.find(status).flatMap(p -> json ? p.json().or(p::html) : p.html().or(p::json));
    }

    private static boolean looksLikeJson(String body, boolean preferredJson) {
        String t = body.stripLeading();
        return t.startsWith("{") || t.startsWith("[") ? true : preferredJson && !t.startsWith("<");
    }

    private static String defaultHtml(HttpResponseStatus status, String detail, String requestId) {
        String title = status.code() + " " + escapeHtml(status.reasonPhrase());
        return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title + "</title></head>\n<body><h1>"
                + title + "</h1>\n" + (detail == null || detail.isEmpty() ? "" : "<p>" + escapeHtml(detail) + "</p>\n")
                + "<hr><p><small>request id " + escapeHtml(requestId) + "</small></p></body></html>\n";
    }

    private static String defaultJson(HttpResponseStatus status, String detail, String requestId) {
        return "{\"status\":" + status.code() + ",\"error\":\"" + escapeJson(status.reasonPhrase()) + "\""
                + (detail == null || detail.isEmpty() ? "" : ",\"detail\":\"" + escapeJson(detail) + "\"")
                + ",\"request_id\":\"" + escapeJson(requestId) + "\"}\n";
    }

    public static String escapeHtml(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    public static String escapeJson(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.toString();
    }
}
