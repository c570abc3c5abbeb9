package dev.turnpike.grpc;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC over HTTP/2 protocol (grpc/doc/PROTOCOL-HTTP2.md) where Turnpike needs it: which requests are gRPC, the
 * deadline a call carries, and the fields of a status.
 */
public final class Grpc {
    public static final AsciiString APPLICATION_GRPC = AsciiString.cached("application/grpc");
    public static final AsciiString APPLICATION_GRPC_WEB = AsciiString.cached("application/grpc-web");
    public static final AsciiString APPLICATION_GRPC_WEB_TEXT = AsciiString.cached("application/grpc-web-text");
    public static final AsciiString GRPC_STATUS = AsciiString.cached("grpc-status");
    public static final AsciiString GRPC_MESSAGE = AsciiString.cached("grpc-message");
    public static final AsciiString GRPC_TIMEOUT = AsciiString.cached("grpc-timeout");
    public static final AsciiString GRPC_STATUS_DETAILS = AsciiString.cached("grpc-status-details-bin");
    /** The length-prefixed message header: 1 byte of flags, 4 bytes of length (big-endian). */
    public static final int FRAME_HEADER = 5;
    /** A grpc-timeout value is at most 8 digits (PROTOCOL-HTTP2.md "TimeoutValue"). */
    private static final int MAX_TIMEOUT_DIGITS = 8;

    private Grpc() {
    }

    /** Whether {@code contentType} is {@code application/grpc} or one of its {@code +proto}/{@code ;…} forms. */
    public static boolean isGrpc(CharSequence contentType) {
        return startsWithType(contentType, APPLICATION_GRPC);
    }

    /** Whether {@code contentType} is gRPC-Web, binary or text (base64). */
    public static boolean isGrpcWeb(CharSequence contentType) {
        return startsWithType(contentType, APPLICATION_GRPC_WEB);
    }

    /** Whether {@code contentType} is the base64 form of gRPC-Web. */
    public static boolean isGrpcWebText(CharSequence contentType) {
        return startsWithType(contentType, APPLICATION_GRPC_WEB_TEXT);
    }

    /** Whether the request whose headers are {@code h} is a gRPC call over HTTP/2 or a gRPC-Web call. */
    public static boolean isGrpcRequest(HttpHeaders h) {
        String ct = h.get(HttpHeaderNames.CONTENT_TYPE);
        return ct != null && isGrpc(ct); // grpc-web types start with application/grpc too
    }

    /** {@code type} exactly, or followed by {@code +suffix}, {@code -suffix} (only for grpc-web-text) or {@code ;params}. */
    private static boolean startsWithType(CharSequence ct, AsciiString type) {
        if (ct == null || ct.length() < type.length()
                || !AsciiString.regionMatches(ct, true, 0, type, 0, type.length())) {
            return false;
        }
        if (ct.length() == type.length()) {
            return true;
        }
        char next = ct.charAt(type.length());
        return next == '+' || next == ';' || next == '-' || next == ' ';
    }

    /**
     * The deadline of a {@code grpc-timeout} value ({@code 1-8 digits} then a unit H, M, S, m, u or n), in nanoseconds,
     * or -1 when it is absent or malformed (a malformed one is ignored, as servers do, rather than failing the call).
     */
    public static long timeoutNanos(CharSequence value) {
        if (value == null) {
            return -1;
        }
        int len = value.length();
        if (len < 2 || len > MAX_TIMEOUT_DIGITS + 1) {
            return -1;
        }
        long n = 0;
        for (int i = 0; i < len - 1; i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        TimeUnit unit = switch (value.charAt(len - 1)) {
            case 'H' -> TimeUnit.HOURS;
            case 'M' -> TimeUnit.MINUTES;
            case 'S' -> TimeUnit.SECONDS;
            case 'm' -> TimeUnit.MILLISECONDS;
            case 'u' -> TimeUnit.MICROSECONDS;
            case 'n' -> TimeUnit.NANOSECONDS;
            default -> null;
        };
        return unit == null ? -1 : unit.toNanos(n);
    }

    /** A {@code grpc-timeout} value for {@code nanos} (rounded up to the coarsest unit that fits 8 digits). */
    public static String timeoutValue(long nanos) {
        long n = Math.max(0, nanos);
        String[] units = {"n", "u", "m", "S", "M", "H"};
        long[] factor = {1, 1_000, 1_000, 1_000, 60, 60};
        long v = n;
        for (int i = 0; i < units.length; i++) {
            if (i > 0) {
                v = (v + factor[i] - 1) / factor[i];
            }
            if (v < 100_000_000L) {
                return v + units[i];
            }
        }
        return "99999999H";
    }

    /**
     * {@code grpc-message} encoding: UTF-8, with bytes outside printable ASCII and {@code %} percent-encoded
     * (PROTOCOL-HTTP2.md "Status-Message").
     */
    public static String encodeMessage(String message) {
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(bytes.length + 8);
        for (byte b : bytes) {
            int c = b & 0xff;
            if (c >= 0x20 && c <= 0x7e && c != '%') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return sb.toString();
    }
}
