package dev.turnpike.http1;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;

import java.util.Iterator;
import java.util.Map;

/**
 * Writes the parts of an HTTP/1.1 head that vary (the field lines, a request line) with one copy into the buffer:
 * assembled in a scratch array of the event-loop thread, then copied once, where Netty's encoders check and copy
 * field by field. Shared by the response encoder of client connections and the request encoder of upstream
 * connections. Characters are written as Netty's encoders write them: one byte each, so that field values go out
 * as the ISO-8859-1 bytes they were read as (obs-text included), and '?' for a character above 0xFF (a configured
 * value can hold one; no decoder produces one).
 */
public final class Http1HeadWriter {
    /** The scratch array grows up to this; a larger head gets an array of its own, not kept. */
    private static final int MAX_SCRATCH = 64 * 1024;
    private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[4096];
        }
    };

    private Http1HeadWriter() {
    }

    /** Writes {@code name: value CRLF} for every field of {@code headers}, in one pass over them. */
    public static void writeFields(HttpHeaders headers, ByteBuf buf) {
        byte[] out = SCRATCH.get();
        int p = 0;
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            CharSequence name = e.getKey();
            CharSequence value = e.getValue();
            int end = p + name.length() + value.length() + 4;
            if (end > out.length) {
                out = grow(out, p, end);
            }
            p = copy(name, out, p);
            out[p++] = ':';
            out[p++] = ' ';
            p = copy(value, out, p);
            out[p++] = '\r';
            out[p++] = '\n';
        }
        if (p > 0) {
            buf.writeBytes(out, 0, p);
        }
    }

    /** A larger array holding the first {@code used} bytes of {@code out}: the thread's scratch while in bound. */
    private static byte[] grow(byte[] out, int used, int size) {
        byte[] bigger = size > MAX_SCRATCH ? new byte[Math.max(size, out.length * 2)]
                : new byte[Math.max(size, Math.min(MAX_SCRATCH, out.length * 2))];
        System.arraycopy(out, 0, bigger, 0, used);
        if (bigger.length <= MAX_SCRATCH) {
            SCRATCH.set(bigger);
        }
        return bigger;
    }

    /**
     * Writes {@code METHOD SP target SP HTTP/1.x CRLF}; false, having written nothing, when the target is not an
     * ASCII origin form (then Netty's encoder writes it: it mends absolute forms and encodes other characters as
     * UTF-8).
     */
    public static boolean writeRequestLine(HttpRequest request, ByteBuf buf) {
        String target = request.uri();
        HttpVersion version = request.protocolVersion();
        AsciiString versionText = version == HttpVersion.HTTP_1_1 ? HTTP_1_1
                : version == HttpVersion.HTTP_1_0 ? HTTP_1_0 : null;
        if (versionText == null || target.isEmpty() || target.charAt(0) != '/') {
            return false;
        }
        AsciiString method = request.method().asciiName();
        byte[] out = scratch(method.length() + target.length() + versionText.length() + 4);
        int p = copy(method, out, 0);
        out[p++] = ' ';
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c >= 0x80) {
                return false; // nothing reached the buffer yet
            }
            out[p++] = (byte) c;
        }
        out[p++] = ' ';
        p = copy(versionText, out, p);
        out[p++] = '\r';
        out[p++] = '\n';
        buf.writeBytes(out, 0, p);
        return true;
    }

    private static final AsciiString HTTP_1_1 = AsciiString.cached("HTTP/1.1");
    private static final AsciiString HTTP_1_0 = AsciiString.cached("HTTP/1.0");

    /** An array of at least {@code size} bytes: the thread's scratch, or for a head beyond its bound one of its own. */
    private static byte[] scratch(int size) {
        if (size > MAX_SCRATCH) {
            return new byte[size];
        }
        byte[] out = SCRATCH.get();
        if (out.length < size) {
            out = new byte[Math.max(size, Math.min(MAX_SCRATCH, out.length * 2))];
            SCRATCH.set(out);
        }
        return out;
    }

    private static int copy(CharSequence s, byte[] out, int p) {
        int n = s.length();
        if (s instanceof AsciiString a) {
            System.arraycopy(a.array(), a.arrayOffset(), out, p, n);
        } else {
            for (int i = 0; i < n; i++) {
                char c = s.charAt(i);
                out[p + i] = c <= 0xFF ? (byte) c : (byte) '?';
            }
        }
        return p + n;
    }
}
