package dev.turnpike.http1;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;

import java.util.Arrays;

/**
 * What both HTTP/1 decoders share: finding the end of a line that may arrive over several reads (each read is
 * searched only where earlier ones were not), and collecting a message's fields and trailer fields.
 */
abstract class Http1MessageDecoder extends ByteToMessageDecoder {
    /**
     * Equivalent to {@code new DefaultHttpHeaders(false)} (which is deprecated in Netty 4.2): a
     * {@link io.netty.handler.codec.http.DefaultHttpHeaders} without name/value validation, since every field has
     * been validated (more strictly) by the decoder.
     */
    static final HttpHeadersFactory NO_VALIDATION = DefaultHttpHeadersFactory.headersFactory().withValidation(false);

    /** Number of bytes after readerIndex already known not to contain LF (current line); 0 at a line's start. */
    int scanned;
    /** The current message's fields, and its trailer fields once one arrives (null before). */
    HttpHeaders headers;
    HttpHeaders trailers;

    /**
     * Returns the absolute index of the first LF within the first {@code window} readable bytes, or -1.
     * Incremental: bytes already scanned for the current line are not scanned again.
     */
    final int findLf(ByteBuf in, int window) {
        final int limit = Math.min(in.readableBytes(), window);
        if (scanned >= limit) {
            return -1;
        }
        final int r = in.readerIndex();
        final int idx = in.indexOf(r + scanned, r + limit, Http1Syntax.LF);
        if (idx < 0) {
            scanned = limit;
        }
        return idx;
    }

    /** Starts collecting the fields of a new head. */
    final void startHead() {
        headers = NO_VALIDATION.newHeaders();
        fieldIndex = 0;
    }

    // ---- fields that repeat from the previous head --------------------------------------------------------------
    //
    // On a keep-alive connection most field lines repeat byte for byte from one message to the next, at the same
    // position in the head: Host, User-Agent and Accept from a client; Server, Content-Type, Content-Length and Date
    // (within its second) from an upstream. A line equal to the one at its position in the previous head reuses
    // that line's name and value, which are immutable, instead of copying them again. The strings of header lookups
    // are kept inside the values (AsciiString caches its String), so they are reused too. With the request target
    // reused the same way, a proxied keep-alive request allocates about a quarter fewer bytes (2.5 -> 1.9 KB), and
    // young collections come that much less often.

    /** Positions remembered per connection, and the bytes of names and values they may keep alive between messages. */
    private static final int REMEMBERED_FIELDS = 16;
    private static final int REMEMBERED_BYTES = 1024;

    /**
     * The remembered lines: the name of position i at 2i, its value at 2i+1. As long as the longest head seen needs
     * (an idle connection keeps only what its requests had), and what its names and values hold adds up to at most
     * REMEMBERED_BYTES.
     */
    private AsciiString[] last;
    private int rememberedBytes;
    /** Position of the next field line in the current head. */
    private int fieldIndex;

    /**
     * Records a validated field whose name is {@code line[0, nameLen)} and value {@code line[vs, ve)}, of the head or,
     * when {@code trailer}, of the trailer section. A head field gets the previous head's objects when that head had
     * the same line at this position, else new ones, remembered for the next head while the bytes kept stay within
     * bounds.
     */
    final void addField(byte[] line, int nameLen, int vs, int ve, boolean trailer) {
        if (trailer) {
            HttpHeaders t = trailers;
            if (t == null) {
                t = trailers = NO_VALIDATION.newHeaders();
            }
            t.add(fieldName(line, nameLen), fieldValue(line, vs, ve));
            return;
        }
        final int i = fieldIndex++;
        final int valueLen = ve - vs;
        final AsciiString[] l = last;
        if (l != null && 2 * i < l.length) {
            AsciiString n = l[2 * i];
            AsciiString v = l[2 * i + 1];
            if (n != null && n.length() == nameLen && v.length() == valueLen
                    && Arrays.equals(line, vs, ve, v.array(), v.arrayOffset(), v.arrayOffset() + valueLen)
                    && Arrays.equals(line, 0, nameLen, n.array(), n.arrayOffset(), n.arrayOffset() + nameLen)) {
                headers.add(n, v);
                return;
            }
        }
        final AsciiString name = fieldName(line, nameLen);
        final AsciiString value = fieldValue(line, vs, ve);
        headers.add(name, value);
        if (i < REMEMBERED_FIELDS) {
            remember(i, name, value);
        }
    }

    private void remember(int i, AsciiString name, AsciiString value) {
        AsciiString[] l = last;
        int total = rememberedBytes;
        if (l == null || 2 * i >= l.length) {
            l = last = l == null ? new AsciiString[Math.max(8, 2 * i + 2)]
                    : Arrays.copyOf(l, Math.min(2 * REMEMBERED_FIELDS, Math.max(2 * l.length, 2 * i + 2)));
        } else if (l[2 * i] != null) {
            total -= l[2 * i].length() + l[2 * i + 1].length();
        }
        int size = name.length() + value.length();
        if (total + size <= REMEMBERED_BYTES) {
            l[2 * i] = name;
            l[2 * i + 1] = value;
            total += size;
        } else {
            l[2 * i] = null; // the line it held is not what comes at this position now
            l[2 * i + 1] = null;
        }
        rememberedBytes = total;
    }

    /** Field names most messages carry, in their usual spelling; indexed by length. */
    private static final AsciiString[][] COMMON_NAMES = commonNames(
            // both
            "Date", "Connection", "Keep-Alive", "Content-Type", "Cache-Control", "Content-Length", "Content-Encoding",
            "Transfer-Encoding",
            // requests
            "Host", "Accept", "Cookie", "Origin", "Referer", "User-Agent", "Authorization", "Accept-Encoding",
            "Accept-Language", "If-None-Match", "If-Modified-Since", "Upgrade-Insecure-Requests",
            // responses
            "ETag", "Vary", "Server", "Expires", "Location", "Set-Cookie", "Accept-Ranges", "Last-Modified");

    private static AsciiString[][] commonNames(String... names) {
        AsciiString[][] byLength = new AsciiString[32][];
        for (String n : names) {
            AsciiString[] l = byLength[n.length()];
            l = l == null ? new AsciiString[1] : Arrays.copyOf(l, l.length + 1);
            l[l.length - 1] = AsciiString.cached(n);
            byLength[n.length()] = l;
        }
        return byLength;
    }

    /** The name in the first {@code len} bytes of {@code line}: a shared constant when it is a common one spelt so. */
    private static AsciiString fieldName(byte[] line, int len) {
        AsciiString[] candidates = len < COMMON_NAMES.length ? COMMON_NAMES[len] : null;
        if (candidates != null) {
            for (AsciiString c : candidates) {
                if (Arrays.equals(line, 0, len, c.array(), 0, len)) {
                    return c;
                }
            }
        }
        return new AsciiString(Arrays.copyOf(line, len), false);
    }

    /**
     * The value in {@code line[vs, ve)}, its bytes read as ISO-8859-1 (as the head writer writes them back, obs-text
     * included).
     */
    private static AsciiString fieldValue(byte[] line, int vs, int ve) {
        return ve == vs ? AsciiString.EMPTY_STRING : new AsciiString(Arrays.copyOfRange(line, vs, ve), false);
    }

    /** The event loop's array for one field line; it grows to the longest line seen (bounded by the head limits). */
    private static final FastThreadLocal<byte[]> LINE = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[256];
        }
    };

    static byte[] lineScratch(int len) {
        byte[] a = LINE.get();
        if (a.length < len) {
            a = new byte[Math.max(len, a.length * 2)];
            LINE.set(a);
        }
        return a;
    }
}
