package dev.turnpike.grpc;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/**
 * The answer to a gRPC call that Turnpike fails itself (no route, upstream down, deadline …): gRPC clients read a
 * {@code grpc-status}, not an HTML page, so the HTTP status becomes a gRPC one and the response is {@code 200} with
 * the call's content type and no message.
 *
 * <p>The status goes in the head (a trailers-only response, which is what gRPC-Web clients and HTTP/1.1 read) and, for
 * gRPC proper, again in the trailers: an HTTP/2 transport that cannot end the stream with the head sends them as the
 * trailing HEADERS that gRPC clients require after a head without END_STREAM.
 */
public final class GrpcErrors {
    private GrpcErrors() {
    }

    /**
     * The gRPC status for an HTTP status Turnpike answers with: the mapping of grpc/doc/http-grpc-status-mapping.md,
     * except that Turnpike's 504 and 408 are timeouts (DEADLINE_EXCEEDED) and 413/431 a limit (RESOURCE_EXHAUSTED).
     */
    public static GrpcStatus statusFor(int httpStatus) {
        return switch (httpStatus) {
            case 400 -> GrpcStatus.INTERNAL;
            case 401 -> GrpcStatus.UNAUTHENTICATED;
            case 403 -> GrpcStatus.PERMISSION_DENIED;
            case 404, 405, 501 -> GrpcStatus.UNIMPLEMENTED;
            case 408, 504 -> GrpcStatus.DEADLINE_EXCEEDED;
            case 413, 431 -> GrpcStatus.RESOURCE_EXHAUSTED;
            case 429, 502, 503 -> GrpcStatus.UNAVAILABLE;
            case 500 -> GrpcStatus.INTERNAL;
            default -> GrpcStatus.UNKNOWN;
        };
    }

    /** The response to a call of {@code requestContentType} that failed as {@code httpStatus} says. */
    public static FullHttpResponse response(CharSequence requestContentType, HttpResponseStatus httpStatus,
                                            String detail) {
        return response(requestContentType, statusFor(httpStatus.code()), detail);
    }

    /** The response to a call of {@code requestContentType} that ends with {@code status} and {@code detail}. */
    public static FullHttpResponse response(CharSequence requestContentType, GrpcStatus status, String detail) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.EMPTY_BUFFER);
        GrpcWebCall web = GrpcWebCall.of(requestContentType);
        r.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, web != null ? web.clientContentType() : contentType(requestContentType))
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        status(r.headers(), status, detail);
        if (web == null) {
            status(r.trailingHeaders(), status, detail);
        }
        return r;
    }

    /** Sets {@code grpc-status} and, when there is a detail, {@code grpc-message}. */
    public static void status(HttpHeaders h, GrpcStatus status, String detail) {
        h.set(Grpc.GRPC_STATUS, Integer.toString(status.code()));
        if (detail != null && !detail.isEmpty()) {
            h.set(Grpc.GRPC_MESSAGE, Grpc.encodeMessage(detail));
        }
    }

    private static CharSequence contentType(CharSequence requestContentType) {
        return Grpc.isGrpc(requestContentType) ? requestContentType : Grpc.APPLICATION_GRPC;
    }
}
