package dev.turnpike.http1;

import io.netty.buffer.ByteBuf;
import io.netty.util.ByteProcessor;

import java.nio.charset.StandardCharsets;

import static dev.turnpike.http.HttpTokens.isTchar;

/**
 * The RFC 9110/9112 grammar both HTTP/1 decoders check bytes against: character classes, field values,
 * Content-Length, chunk lines. One definition, so that requests from clients and responses from upstreams are held
 * to the same syntax.
 */
final class Http1Syntax {
    static final byte CR = '\r';
    static final byte LF = '\n';
    static final byte SP = ' ';
    static final byte HTAB = '\t';

    /** Maximum chunk line (chunk-size + chunk-ext, excluding CRLF). */
    static final int MAX_CHUNK_LINE_LENGTH = 4096;
    private static final int MAX_CHUNK_SIZE_DIGITS = 16;
    private static final int MAX_CONTENT_LENGTH_DIGITS = 19;

    /** "HTTP/1.1" and "HTTP/1.0" as big-endian longs. */
    static final long HTTP_1_1_LONG = asciiLong("HTTP/1.1");
    static final long HTTP_1_0_LONG = asciiLong("HTTP/1.0");

    static final byte[] CONTENT_LENGTH = ascii("content-length");
    static final byte[] TRANSFER_ENCODING = ascii("transfer-encoding");
    static final byte[] CHUNKED = ascii("chunked");

    /** Continues while the byte is a tchar. */
    static final ByteProcessor TCHAR_PROCESSOR = b -> isTchar(b & 0xFF);
    /** Continues while the byte is allowed in a field value: VCHAR, SP, HTAB, obs-text. */
    static final ByteProcessor FIELD_VALUE_PROCESSOR = Http1Syntax::isFieldValueByte;

    /** Whether {@code b} may be in a field value: VCHAR, SP, HTAB, obs-text. */
    static boolean isFieldValueByte(byte b) {
        return b < 0 || (b >= 0x20 && b != 0x7F) || b == HTAB;
    }

    /** What {@link #parseChunkLine} returns for a line it refuses (chunk sizes are never negative). */
    static final long CHUNK_SIZE_INVALID = -1;
    static final long CHUNK_SIZE_TOO_LONG = -2;
    static final long CHUNK_SIZE_TOO_LARGE = -3;
    static final long CHUNK_EXTENSION_INVALID = -4;

    private Http1Syntax() {
    }

    /** Why {@link #parseChunkLine} refused a line. */
    static String chunkLineProblem(long code) {
        return code == CHUNK_SIZE_TOO_LONG ? "chunk size too long"
                : code == CHUNK_SIZE_TOO_LARGE ? "chunk size too large"
                : code == CHUNK_EXTENSION_INVALID ? "invalid chunk extension" : "invalid chunk size";
    }

    /**
     * The chunk size of {@code chunk-size [ chunk-ext ]} over [start, end) (line ending excluded), or one of the
     * negative {@code CHUNK_…} codes.
     */
    static long parseChunkLine(ByteBuf in, int start, int end) {
        long size = 0;
        int p = start;
        while (p < end) {
            int d = hexValue(in.getByte(p));
            if (d < 0) {
                break;
            }
            if (p - start == MAX_CHUNK_SIZE_DIGITS) {
                return CHUNK_SIZE_TOO_LONG;
            }
            size = (size << 4) | d;
            p++;
        }
        if (p == start) {
            return CHUNK_SIZE_INVALID;
        }
        if (size < 0) {
            return CHUNK_SIZE_TOO_LARGE;
        }
        if (p < end && !isValidChunkExtensions(in, p, end)) {
            return CHUNK_EXTENSION_INVALID;
        }
        return size;
    }

    /** Returns the value of 1*19DIGIT that fits in a long, or -1. */
    static long parseContentLength(ByteBuf in, int start, int len) {
        if (len < 1 || len > MAX_CONTENT_LENGTH_DIGITS) {
            return -1;
        }
        long v = 0;
        for (int i = start, end = start + len; i < end; i++) {
            final byte b = in.getByte(i);
            if (!isDigit(b)) {
                return -1;
            }
            final int d = b - '0';
            if (v > (Long.MAX_VALUE - d) / 10) {
                return -1;
            }
            v = v * 10 + d;
        }
        return v;
    }

    /** {@link #parseContentLength(ByteBuf, int, int)} over an array. */
    static long parseContentLength(byte[] a, int start, int len) {
        if (len < 1 || len > MAX_CONTENT_LENGTH_DIGITS) {
            return -1;
        }
        long v = 0;
        for (int i = start, end = start + len; i < end; i++) {
            final byte b = a[i];
            if (!isDigit(b)) {
                return -1;
            }
            v = v * 10 + (b - '0'); // 19 digits at most: a sign change is the only overflow
            if (v < 0) {
                return -1;
            }
        }
        return v;
    }

    /**
     * chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] ) over [p, end),
     * with no trailing whitespace.
     */
    static boolean isValidChunkExtensions(ByteBuf in, int p, int end) {
        while (p < end) {
            p = skipOws(in, p, end);
            if (p >= end || in.getByte(p) != ';') {
                return false;
            }
            p = skipOws(in, p + 1, end);
            final int nameStart = p;
            while (p < end && isTchar(in.getByte(p) & 0xFF)) {
                p++;
            }
            if (p == nameStart) {
                return false;
            }
            final int q = skipOws(in, p, end);
            if (q < end && in.getByte(q) == '=') {
                p = skipOws(in, q + 1, end);
                if (p >= end) {
                    return false;
                }
                if (in.getByte(p) == '"') {
                    p = endOfQuotedString(in, p, end);
                    if (p < 0) {
                        return false;
                    }
                } else {
                    final int valueStart = p;
                    while (p < end && isTchar(in.getByte(p) & 0xFF)) {
                        p++;
                    }
                    if (p == valueStart) {
                        return false;
                    }
                }
            } else if (q < end && in.getByte(q) == ';') {
                p = q;
            } else if (q != end || q != p) {
                return false; // garbage after the name, or trailing whitespace
            }
        }
        return true;
    }

    /** p points at the opening DQUOTE; returns the index after the closing DQUOTE, or -1. */
    static int endOfQuotedString(ByteBuf in, int p, int end) {
        p++;
        while (p < end) {
            final int c = in.getByte(p) & 0xFF;
            if (c == '"') {
                return p + 1;
            }
            if (c == '\\') {
                p++;
                if (p >= end) {
                    return -1;
                }
                final int e = in.getByte(p) & 0xFF;
                if (!(e == HTAB || e == SP || (e >= 0x21 && e != 0x7F))) {
                    return -1;
                }
            } else if (!(c == HTAB || c == SP || c == 0x21 || (c >= 0x23 && c <= 0x5B)
                    || (c >= 0x5D && c <= 0x7E) || c >= 0x80)) {
                return -1;
            }
            p++;
        }
        return -1;
    }

    /** Case-insensitive comparison against a lowercase ASCII constant of the same length. */
    static boolean equalsIgnoreCase(ByteBuf in, int start, byte[] lower) {
        for (int i = 0; i < lower.length; i++) {
            int b = in.getByte(start + i);
            if (b >= 'A' && b <= 'Z') {
                b += 32;
            }
            if (b != lower[i]) {
                return false;
            }
        }
        return true;
    }

    /** {@link #equalsIgnoreCase(ByteBuf, int, byte[])} over an array. */
    static boolean equalsIgnoreCase(byte[] a, int start, byte[] lower) {
        for (int i = 0; i < lower.length; i++) {
            int b = a[start + i];
            if (b >= 'A' && b <= 'Z') {
                b += 32;
            }
            if (b != lower[i]) {
                return false;
            }
        }
        return true;
    }

    static int skipOws(ByteBuf in, int p, int end) {
        while (p < end && isOws(in.getByte(p))) {
            p++;
        }
        return p;
    }

    static boolean isOws(byte b) {
        return b == SP || b == HTAB;
    }

    static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }

    static int hexValue(byte b) {
        if (b >= '0' && b <= '9') {
            return b - '0';
        }
        if (b >= 'a' && b <= 'f') {
            return b - 'a' + 10;
        }
        if (b >= 'A' && b <= 'F') {
            return b - 'A' + 10;
        }
        return -1;
    }

    static int saturatedAdd(int a, int b) {
        return (int) Math.min(Integer.MAX_VALUE, (long) a + b);
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    static long asciiLong(String s) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (s.charAt(i) & 0xFF);
        }
        return v;
    }
}
