package dev.turnpike.http1;

import dev.turnpike.server.LoopClock;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ByteProcessor;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static dev.turnpike.http1.Http1Syntax.*;

/**
 * Strict, streaming HTTP/1.x request decoder (RFC 9110 / RFC 9112 with hardened choices).
 *
 * <p>Per request it emits one {@link DefaultHttpRequest}, zero or more {@link DefaultHttpContent}
 * (retained slices of the cumulation, emitted as soon as bytes arrive), and exactly one
 * {@link LastHttpContent}. On any violation it emits exactly one {@link Http1DecodeError} and from then
 * on silently discards all input. It never throws for bad input, and its output does not depend on how
 * the bytes are split across reads.
 *
 * <p>Buffering is bounded: a request line is never buffered beyond {@code maxRequestLineLength + 2}
 * bytes, a field line never beyond the remaining header-section budget, a chunk line never beyond
 * 4098 bytes; body bytes are never buffered.
 */
public final class StrictHttp1RequestDecoder extends Http1MessageDecoder {

    /** Callback for the connection handler (invoked directly, not through the pipeline). */
    public interface Listener {
        /**
         * Called when the first byte of a new request head (after any tolerated leading CRLFs) arrives.
         */
        void onRequestHeadStarted();
    }

    /** RFC 9112 section 2.2: empty lines tolerated before a request line. */
    private static final int MAX_LEADING_EMPTY_LINES = 4;
    private static final int MAX_PORT_DIGITS = 5;

    private static final byte[] HOST = ascii("host");

    // Character classes (indexed by unsigned byte value).
    private static final boolean[] HEXDIG = new boolean[256];
    /** unreserved / sub-delims (reg-name without pct-encoded). */
    private static final boolean[] REG_NAME = new boolean[256];

    static {
        for (int c = '0'; c <= '9'; c++) {
            HEXDIG[c] = true;
            REG_NAME[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            REG_NAME[c] = true;
            REG_NAME[c - 32] = true;
        }
        for (int c = 'a'; c <= 'f'; c++) {
            HEXDIG[c] = true;
            HEXDIG[c - 32] = true;
        }
        for (char c : "-._~!$&'()*+,;=".toCharArray()) {
            REG_NAME[c] = true;
        }
    }

    /** Continues while the byte is allowed in a request-target: 0x21-0x7E except '#'. */
    private static final ByteProcessor TARGET_PROCESSOR = b -> b > 0x20 && b < 0x7F && b != '#';

    private enum State {
        /** Before a request: skipping tolerated empty lines. */
        START,
        REQUEST_LINE,
        HEADERS,
        FIXED_BODY,
        CHUNK_LINE,
        CHUNK_DATA,
        CHUNK_DATA_END,
        TRAILERS,
        /** After an error: discard everything. */
        BAD
    }

    private final Http1Limits limits;
    private Listener listener;
    /** Decoding stops at the next request boundary: what follows an upgrade request may not be HTTP. */
    private boolean held;

    private State state = State.START;
    private int leadingEmptyLines;

    // Current request.
    private HttpVersion version;
    private HttpMethod method;
    private String uri;
    private int sectionBytes;
    private int fieldCount;
    private int hostCount;
    private boolean contentLengthSeen;
    private long contentLength;
    private boolean teSeen;
    private boolean teChunkedSeen;
    private boolean teLastIsChunked;
    private boolean teOtherCodingSeen;
    private long remaining;

    public StrictHttp1RequestDecoder(Http1Limits limits) {
        if (limits == null) {
            throw new NullPointerException("limits");
        }
        this.limits = limits;
    }

    public void setListener(Listener l) {
        this.listener = l;
    }

    /** True while a request head or body is partially received. */
    public boolean isMidRequest() {
        State s = state;
        return s != State.START && s != State.BAD;
    }

    /**
     * Stops decoding once the current request is complete, until {@link #resume}: the bytes that follow a request
     * asking to switch protocols belong to the new protocol if the switch happens, so they are kept undecoded (and
     * reach the next handler raw when this decoder is removed for the switch).
     */
    public void hold() {
        held = true;
    }

    /** Decodes again after {@link #hold}; returns whether bytes arrived meanwhile (they were not decoded yet). */
    public boolean resume() {
        held = false;
        ByteBuf buffered = internalBuffer();
        return buffered != null && buffered.isReadable();
    }

    /** A read and every request it completes, handled to the end, share one reading of the clock. */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        LoopClock clock = LoopClock.callback();
        try {
            super.channelRead(ctx, msg);
        } finally {
            clock.end();
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        boolean more;
        do {
            if (!in.isReadable() || (held && state == State.START)) {
                return;
            }
            more = switch (state) {
                case START -> readStart(in, out);
                case REQUEST_LINE -> readRequestLine(in, out);
                case HEADERS -> readFieldLines(in, out, false);
                case FIXED_BODY -> readFixedBody(in, out);
                case CHUNK_LINE -> readChunkLine(in, out);
                case CHUNK_DATA -> readChunkData(in, out);
                case CHUNK_DATA_END -> readChunkDataEnd(in, out);
                case TRAILERS -> readFieldLines(in, out, true);
                case BAD -> {
                    in.skipBytes(in.readableBytes());
                    yield false;
                }
            };
        } while (more);
    }

    // ---------------------------------------------------------------------------------------------
    // States. Each returns true to continue decoding, false to return from decode() (need more data,
    // error, or a request was completed so that its messages are fired before the next one starts).
    // ---------------------------------------------------------------------------------------------

    private boolean readStart(ByteBuf in, List<Object> out) {
        for (;;) {
            int n = in.readableBytes();
            if (n == 0) {
                return false;
            }
            int r = in.readerIndex();
            byte b = in.getByte(r);
            if (b == CR) {
                if (n < 2) {
                    return false;
                }
                if (in.getByte(r + 1) != LF) {
                    return fail(in, out, HttpResponseStatus.BAD_REQUEST, "bare CR before request line");
                }
                if (++leadingEmptyLines > MAX_LEADING_EMPTY_LINES) {
                    return fail(in, out, HttpResponseStatus.BAD_REQUEST, "too many empty lines before request line");
                }
                in.skipBytes(2);
                continue;
            }
            if (b == LF) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "bare LF before request line");
            }
            state = State.REQUEST_LINE;
            scanned = 0;
            Listener l = listener;
            if (l != null) {
                l.onRequestHeadStarted();
            }
            return true;
        }
    }

    private boolean readRequestLine(ByteBuf in, List<Object> out) {
        final int max = limits.maxRequestLineLength();
        final int window = saturatedAdd(max, 2);
        final int r = in.readerIndex();
        final int n = in.readableBytes();
        final int lf = findLf(in, window);
        if (lf < 0) {
            // max+1 bytes whose last is not CR, or max+2 bytes without LF: the line is longer than max.
            if (n >= window || (n > max && in.getByte(r + max) != CR)) {
                return fail(in, out, HttpResponseStatus.REQUEST_URI_TOO_LONG, "request line too long");
            }
            return false;
        }
        final int lenBeforeLf = lf - r;
        if (in.getByte(lf - 1) != CR) { // lf > r: the first byte is neither CR nor LF
            if (lenBeforeLf > max) {
                return fail(in, out, HttpResponseStatus.REQUEST_URI_TOO_LONG, "request line too long");
            }
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "bare LF in request line");
        }
        if (!parseRequestLine(in, out, r, lf - 1)) {
            return false;
        }
        in.readerIndex(lf + 1);
        scanned = 0;
        startHead();
        sectionBytes = 0;
        fieldCount = 0;
        state = State.HEADERS;
        return true;
    }

    /** Parses {@code method SP request-target SP HTTP-version} in [start, end). */
    private boolean parseRequestLine(ByteBuf in, List<Object> out, int start, int end) {
        final int sp1 = in.indexOf(start, end, SP);
        if (sp1 <= start) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "malformed request line");
        }
        if (in.forEachByte(start, sp1 - start, TCHAR_PROCESSOR) >= 0) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "invalid method");
        }
        final int targetStart = sp1 + 1;
        final int sp2 = in.indexOf(targetStart, end, SP);
        if (sp2 < 0) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "missing HTTP version");
        }
        final int targetLen = sp2 - targetStart;
        if (targetLen == 0) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "malformed request line");
        }
        if (in.forEachByte(targetStart, targetLen, TARGET_PROCESSOR) >= 0) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "invalid character in request target");
        }
        final int versionStart = sp2 + 1;
        final int versionLen = end - versionStart;
        if (versionLen != 8) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "malformed HTTP version");
        }
        final long v = in.getLong(versionStart);
        final HttpVersion ver;
        if (v == HTTP_1_1_LONG) {
            ver = HttpVersion.HTTP_1_1;
        } else if (v == HTTP_1_0_LONG) {
            ver = HttpVersion.HTTP_1_0;
        } else if (isWellFormedVersion(in, versionStart)) {
            return fail(in, out, HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED, "unsupported HTTP version");
        } else {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "malformed HTTP version");
        }
        final HttpMethod m = method(in, start, sp1 - start);
        if (!isValidTargetForm(in, targetStart, sp2, m)) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "invalid request target form");
        }
        version = ver;
        method = m;
        uri = target(in, targetStart, targetLen);
        return true;
    }

    /** Request targets up to this long are remembered for the next request on the connection. */
    private static final int REMEMBERED_TARGET = 256;
    private byte[] lastTargetBytes;
    private String lastTarget;

    /**
     * The request target in {@code [start, start + len)}: the previous request's string when it named the same one,
     * as requests on a keep-alive connection often do (the same API endpoint, polled), so the string and what is
     * parsed from it are reused.
     */
    private String target(ByteBuf in, int start, int len) {
        byte[] last = lastTargetBytes;
        if (last != null && last.length == len) {
            byte[] line = lineScratch(len);
            in.getBytes(start, line, 0, len);
            if (Arrays.equals(line, 0, len, last, 0, len)) {
                return lastTarget;
            }
        }
        if (len > REMEMBERED_TARGET) {
            return in.toString(start, len, StandardCharsets.US_ASCII);
        }
        byte[] bytes = new byte[len];
        in.getBytes(start, bytes);
        String t = new String(bytes, StandardCharsets.ISO_8859_1); // US-ASCII, checked by TARGET_PROCESSOR
        lastTargetBytes = bytes;
        lastTarget = t;
        return t;
    }

    private boolean readFieldLines(ByteBuf in, List<Object> out, boolean trailer) {
        for (;;) {
            final int n = in.readableBytes();
            if (n == 0) {
                return false;
            }
            final int r = in.readerIndex();
            final byte first = in.getByte(r);
            if (first == CR) {
                if (n < 2) {
                    return false;
                }
                if (in.getByte(r + 1) != LF) {
                    return fail(in, out, HttpResponseStatus.BAD_REQUEST, "bare CR in field section");
                }
                in.skipBytes(2);
                return trailer ? finishTrailers(in, out) : finishHead(in, out);
            }
            if (first == LF) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "bare LF in field section");
            }
            if (first == SP || first == HTAB) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "obsolete line folding or leading whitespace");
            }
            if (fieldCount >= limits.maxHeaderCount()) {
                return fail(in, out, HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "too many fields");
            }
            final int budget = limits.maxHeaderSectionSize() - sectionBytes; // >= 0
            final int lf = findLf(in, budget);
            if (lf < 0) {
                if (n >= budget) {
                    return fail(in, out, HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "field section too large");
                }
                return false;
            }
            if (in.getByte(lf - 1) != CR) { // lf > r because first != LF
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "bare LF in field section");
            }
            if (!parseFieldLine(in, out, r, lf - 1, trailer)) {
                return false;
            }
            sectionBytes += lf + 1 - r;
            fieldCount++;
            in.readerIndex(lf + 1);
            scanned = 0;
        }
    }

    /** Parses and records one field line in [start, end) (CRLF excluded, first byte not whitespace). */
    private boolean parseFieldLine(ByteBuf in, List<Object> out, int start, int end, boolean trailer) {
        final int colon = in.indexOf(start, end, (byte) ':');
        if (colon < 0) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "missing colon in field line");
        }
        if (colon == start) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "empty field name");
        }
        final int nameLen = colon - start;
        if (in.forEachByte(start, nameLen, TCHAR_PROCESSOR) >= 0) {
            byte last = in.getByte(colon - 1);
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, last == SP || last == HTAB
                    ? "whitespace between field name and colon" : "invalid field name");
        }
        // Trim OWS.
        int vs = colon + 1;
        int ve = end;
        if (vs < ve) {
            int i = in.forEachByte(vs, ve - vs, ByteProcessor.FIND_NON_LINEAR_WHITESPACE);
            if (i < 0) {
                vs = ve;
            } else {
                vs = i;
                ve = in.forEachByteDesc(vs, ve - vs, ByteProcessor.FIND_NON_LINEAR_WHITESPACE) + 1;
            }
        }
        final int valueLen = ve - vs;
        if (valueLen > 0 && in.forEachByte(vs, valueLen, FIELD_VALUE_PROCESSOR) >= 0) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "invalid character in field value");
        }

        if (nameLen == HOST.length && equalsIgnoreCase(in, start, HOST)) {
            if (trailer) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "Host not allowed in trailers");
            }
            if (++hostCount > 1) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "multiple Host fields");
            }
            if (valueLen > 0 && !isValidAuthority(in, vs, ve, false)) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "invalid Host");
            }
        } else if (nameLen == CONTENT_LENGTH.length && equalsIgnoreCase(in, start, CONTENT_LENGTH)) {
            if (trailer) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "Content-Length not allowed in trailers");
            }
            if (contentLengthSeen) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "multiple Content-Length fields");
            }
            long cl = parseContentLength(in, vs, valueLen);
            if (cl < 0) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "invalid Content-Length");
            }
            contentLengthSeen = true;
            contentLength = cl;
        } else if (nameLen == TRANSFER_ENCODING.length && equalsIgnoreCase(in, start, TRANSFER_ENCODING)) {
            if (trailer) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "Transfer-Encoding not allowed in trailers");
            }
            teSeen = true;
            String problem = parseTransferEncoding(in, vs, ve);
            if (problem != null) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, problem);
            }
        }

        // AsciiStrings, as Netty's decoders name fields and HTTP/2's carry values: a name's hash is kept, so copying
        // the field into the upstream request or looking it up costs no rehash, and the head writers copy the bytes
        // at once. One bulk copy of the line, which a field repeated from the previous request needs no more than.
        final byte[] line = lineScratch(end - start);
        in.getBytes(start, line, 0, end - start);
        addField(line, nameLen, vs - start, ve - start, trailer);
        return true;
    }

    /** Processes one Transfer-Encoding field value [vs, ve); returns null or a problem description. */
    private String parseTransferEncoding(ByteBuf in, int vs, int ve) {
        if (vs == ve) {
            return "empty Transfer-Encoding";
        }
        int p = vs;
        for (;;) {
            final int comma = in.indexOf(p, ve, (byte) ',');
            final int elementEnd = comma < 0 ? ve : comma;
            int s = p;
            int e = elementEnd;
            while (s < e && isOws(in.getByte(s))) {
                s++;
            }
            while (e > s && isOws(in.getByte(e - 1))) {
                e--;
            }
            if (s == e) {
                return "empty Transfer-Encoding list element";
            }
            if (in.forEachByte(s, e - s, TCHAR_PROCESSOR) >= 0) {
                return "invalid transfer coding";
            }
            if (e - s == CHUNKED.length && equalsIgnoreCase(in, s, CHUNKED)) {
                if (teChunkedSeen) {
                    return "chunked applied more than once";
                }
                teChunkedSeen = true;
                teLastIsChunked = true;
            } else {
                teLastIsChunked = false;
                teOtherCodingSeen = true;
            }
            if (comma < 0) {
                return null;
            }
            p = comma + 1;
        }
    }

    private boolean finishHead(ByteBuf in, List<Object> out) {
        if (hostCount == 0 && version == HttpVersion.HTTP_1_1) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "missing Host");
        }
        if (teSeen) {
            if (version == HttpVersion.HTTP_1_0) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "Transfer-Encoding in HTTP/1.0 request");
            }
            if (contentLengthSeen) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "both Content-Length and Transfer-Encoding");
            }
            if (!teLastIsChunked) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "final transfer coding is not chunked");
            }
            if (teOtherCodingSeen) {
                return fail(in, out, HttpResponseStatus.NOT_IMPLEMENTED, "unsupported transfer coding");
            }
        }
        out.add(new DefaultHttpRequest(version, method, uri, headers, false));
        headers = null;
        uri = null;
        if (teSeen) {
            scanned = 0;
            state = State.CHUNK_LINE;
            return true;
        }
        if (contentLengthSeen && contentLength > 0) {
            remaining = contentLength;
            state = State.FIXED_BODY;
            return true;
        }
        return complete(out, LastHttpContent.EMPTY_LAST_CONTENT);
    }

    private boolean readFixedBody(ByteBuf in, List<Object> out) {
        final int toRead = (int) Math.min(in.readableBytes(), remaining);
        out.add(new DefaultHttpContent(in.readRetainedSlice(toRead)));
        remaining -= toRead;
        if (remaining == 0) {
            return complete(out, LastHttpContent.EMPTY_LAST_CONTENT);
        }
        return false; // all readable bytes consumed
    }

    private boolean readChunkLine(ByteBuf in, List<Object> out) {
        final int window = MAX_CHUNK_LINE_LENGTH + 2;
        final int r = in.readerIndex();
        final int n = in.readableBytes();
        final int lf = findLf(in, window);
        if (lf < 0) {
            if (n >= window || (n > MAX_CHUNK_LINE_LENGTH && in.getByte(r + MAX_CHUNK_LINE_LENGTH) != CR)) {
                return fail(in, out, HttpResponseStatus.BAD_REQUEST, "chunk line too long");
            }
            return false;
        }
        if (lf == r || in.getByte(lf - 1) != CR) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "bare LF in chunk line");
        }
        final int end = lf - 1;
        if (end - r > MAX_CHUNK_LINE_LENGTH) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "chunk line too long");
        }
        final long size = parseChunkLine(in, r, end);
        if (size < 0) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, chunkLineProblem(size));
        }
        in.readerIndex(lf + 1);
        scanned = 0;
        if (size == 0) {
            trailers = null;
            sectionBytes = 0;
            fieldCount = 0;
            state = State.TRAILERS;
        } else {
            remaining = size;
            state = State.CHUNK_DATA;
        }
        return true;
    }

    private boolean readChunkData(ByteBuf in, List<Object> out) {
        final int toRead = (int) Math.min(in.readableBytes(), remaining);
        out.add(new DefaultHttpContent(in.readRetainedSlice(toRead)));
        remaining -= toRead;
        if (remaining == 0) {
            state = State.CHUNK_DATA_END;
            return true;
        }
        return false;
    }

    private boolean readChunkDataEnd(ByteBuf in, List<Object> out) {
        final int r = in.readerIndex();
        if (in.getByte(r) != CR) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "chunk data not followed by CRLF");
        }
        if (in.readableBytes() < 2) {
            return false;
        }
        if (in.getByte(r + 1) != LF) {
            return fail(in, out, HttpResponseStatus.BAD_REQUEST, "chunk data not followed by CRLF");
        }
        in.skipBytes(2);
        scanned = 0;
        state = State.CHUNK_LINE;
        return true;
    }

    private boolean finishTrailers(ByteBuf in, List<Object> out) {
        HttpHeaders t = trailers;
        trailers = null;
        return complete(out, t == null ? LastHttpContent.EMPTY_LAST_CONTENT
                : new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, t));
    }

    /** Emits the last content and resets for the next request; always returns false. */
    private boolean complete(List<Object> out, LastHttpContent last) {
        out.add(last);
        resetRequest();
        state = State.START;
        return false;
    }

    private boolean fail(ByteBuf in, List<Object> out, HttpResponseStatus status, String reason) {
        out.add(new Http1DecodeError(status, reason));
        resetRequest();
        state = State.BAD;
        in.skipBytes(in.readableBytes());
        return false;
    }

    private void resetRequest() {
        scanned = 0;
        leadingEmptyLines = 0;
        version = null;
        method = null;
        uri = null;
        headers = null;
        trailers = null;
        sectionBytes = 0;
        fieldCount = 0;
        hostCount = 0;
        contentLengthSeen = false;
        contentLength = 0;
        teSeen = false;
        teChunkedSeen = false;
        teLastIsChunked = false;
        teOtherCodingSeen = false;
        remaining = 0;
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------

    private static HttpMethod method(ByteBuf in, int start, int len) {
        switch (len) {
            case 3:
                if (equalsExact(in, start, "GET")) {
                    return HttpMethod.GET;
                }
                if (equalsExact(in, start, "PUT")) {
                    return HttpMethod.PUT;
                }
                break;
            case 4:
                if (equalsExact(in, start, "POST")) {
                    return HttpMethod.POST;
                }
                if (equalsExact(in, start, "HEAD")) {
                    return HttpMethod.HEAD;
                }
                break;
            case 5:
                if (equalsExact(in, start, "PATCH")) {
                    return HttpMethod.PATCH;
                }
                if (equalsExact(in, start, "TRACE")) {
                    return HttpMethod.TRACE;
                }
                break;
            case 6:
                if (equalsExact(in, start, "DELETE")) {
                    return HttpMethod.DELETE;
                }
                break;
            case 7:
                if (equalsExact(in, start, "OPTIONS")) {
                    return HttpMethod.OPTIONS;
                }
                if (equalsExact(in, start, "CONNECT")) {
                    return HttpMethod.CONNECT;
                }
                break;
            default:
                break;
        }
        return HttpMethod.valueOf(in.toString(start, len, StandardCharsets.US_ASCII));
    }

    private static boolean equalsExact(ByteBuf in, int start, String s) {
        for (int i = 0; i < s.length(); i++) {
            if (in.getByte(start + i) != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** "HTTP/" DIGIT "." DIGIT at index (8 bytes available). */
    private static boolean isWellFormedVersion(ByteBuf in, int i) {
        return in.getByte(i) == 'H' && in.getByte(i + 1) == 'T' && in.getByte(i + 2) == 'T'
                && in.getByte(i + 3) == 'P' && in.getByte(i + 4) == '/' && isDigit(in.getByte(i + 5))
                && in.getByte(i + 6) == '.' && isDigit(in.getByte(i + 7));
    }

    /**
     * RFC 9112 section 3.2: origin-form for any method except CONNECT; authority-form only (and
     * always) for CONNECT; absolute-form (http/https with a non-empty authority) for any method
     * except CONNECT; asterisk-form only for OPTIONS.
     */
    private static boolean isValidTargetForm(ByteBuf in, int start, int end, HttpMethod m) {
        final boolean connect = HttpMethod.CONNECT.equals(m);
        final byte first = in.getByte(start);
        if (connect) {
            return first != '/' && isValidAuthority(in, start, end, true);
        }
        if (first == '/') {
            return true;
        }
        if (first == '*' && end - start == 1) {
            return HttpMethod.OPTIONS.equals(m);
        }
        // absolute-form
        int schemeEnd;
        if (end - start >= 7 && (in.getByte(start) | 0x20) == 'h' && (in.getByte(start + 1) | 0x20) == 't'
                && (in.getByte(start + 2) | 0x20) == 't' && (in.getByte(start + 3) | 0x20) == 'p') {
            schemeEnd = start + 4;
            if ((in.getByte(schemeEnd) | 0x20) == 's') {
                schemeEnd++;
            }
        } else {
            return false;
        }
        if (end - schemeEnd < 3 || in.getByte(schemeEnd) != ':' || in.getByte(schemeEnd + 1) != '/'
                || in.getByte(schemeEnd + 2) != '/') {
            return false;
        }
        final int authStart = schemeEnd + 3;
        int authEnd = authStart;
        while (authEnd < end) {
            byte b = in.getByte(authEnd);
            if (b == '/' || b == '?') {
                break;
            }
            authEnd++;
        }
        return authEnd > authStart && isValidAuthority(in, authStart, authEnd, false);
    }

    /**
     * {@code host [ ":" port ]} without userinfo; host = IP-literal / IPv4address / reg-name (non-empty);
     * port = 1*5DIGIT (required if {@code requirePort}).
     */
    static boolean isValidAuthority(ByteBuf in, int start, int end, boolean requirePort) {
        if (start >= end) {
            return false;
        }
        final int hostEnd;
        if (in.getByte(start) == '[') {
            final int close = in.indexOf(start + 1, end, (byte) ']');
            if (close < 0 || !isValidIpLiteral(in, start + 1, close)) {
                return false;
            }
            hostEnd = close + 1;
        } else {
            final int colon = in.indexOf(start, end, (byte) ':');
            hostEnd = colon < 0 ? end : colon;
            if (hostEnd == start || !isValidRegName(in, start, hostEnd)) {
                return false;
            }
        }
        if (hostEnd == end) {
            return !requirePort;
        }
        if (in.getByte(hostEnd) != ':') {
            return false;
        }
        final int portLen = end - hostEnd - 1;
        if (portLen < 1 || portLen > MAX_PORT_DIGITS) {
            return false;
        }
        for (int i = hostEnd + 1; i < end; i++) {
            if (!isDigit(in.getByte(i))) {
                return false;
            }
        }
        return true;
    }

    /** reg-name = *( unreserved / pct-encoded / sub-delims ); covers IPv4address syntactically. */
    private static boolean isValidRegName(ByteBuf in, int start, int end) {
        for (int i = start; i < end; i++) {
            final byte b = in.getByte(i);
            if (b == '%') {
                if (i + 2 >= end || !HEXDIG[in.getByte(i + 1) & 0xFF] || !HEXDIG[in.getByte(i + 2) & 0xFF]) {
                    return false;
                }
                i += 2;
            } else if (!REG_NAME[b & 0xFF]) {
                return false;
            }
        }
        return true;
    }

    /** Contents between '[' and ']': IPv6address / IPvFuture (no zone identifiers). */
    private static boolean isValidIpLiteral(ByteBuf in, int start, int end) {
        if (start >= end) {
            return false;
        }
        final byte first = in.getByte(start);
        if (first == 'v' || first == 'V') {
            // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
            int p = start + 1;
            while (p < end && HEXDIG[in.getByte(p) & 0xFF]) {
                p++;
            }
            if (p == start + 1 || p >= end || in.getByte(p) != '.') {
                return false;
            }
            p++;
            if (p >= end) {
                return false;
            }
            for (; p < end; p++) {
                final byte b = in.getByte(p);
                if (b != ':' && !REG_NAME[b & 0xFF]) {
                    return false;
                }
            }
            return true;
        }
        return isValidIpv6(in, start, end);
    }

    static boolean isValidIpv6(ByteBuf in, int start, int end) {
        int p = start;
        int groups = 0;
        boolean compressed = false;
        if (in.getByte(p) == ':') {
            if (p + 1 >= end || in.getByte(p + 1) != ':') {
                return false;
            }
            compressed = true;
            p += 2;
        }
        while (p < end) {
            final int groupStart = p;
            while (p < end && p - groupStart < 4 && HEXDIG[in.getByte(p) & 0xFF]) {
                p++;
            }
            if (p < end && in.getByte(p) == '.') {
                // Trailing IPv4address occupies two groups.
                if (!isValidIpv4(in, groupStart, end)) {
                    return false;
                }
                groups += 2;
                p = end;
                break;
            }
            if (p == groupStart || (p < end && HEXDIG[in.getByte(p) & 0xFF])) {
                return false;
            }
            groups++;
            if (p == end) {
                break;
            }
            if (in.getByte(p) != ':') {
                return false;
            }
            p++;
            if (p < end && in.getByte(p) == ':') {
                if (compressed) {
                    return false;
                }
                compressed = true;
                p++;
            } else if (p == end) {
                return false; // trailing single ':'
            }
        }
        return compressed ? groups <= 7 : groups == 8;
    }

    /** dotted-quad of dec-octets (no leading zeros, each <= 255). */
    private static boolean isValidIpv4(ByteBuf in, int start, int end) {
        int p = start;
        for (int octet = 0; octet < 4; octet++) {
            if (octet > 0) {
                if (p >= end || in.getByte(p) != '.') {
                    return false;
                }
                p++;
            }
            final int s = p;
            int value = 0;
            while (p < end && p - s < 3 && isDigit(in.getByte(p))) {
                value = value * 10 + (in.getByte(p) - '0');
                p++;
            }
            final int len = p - s;
            if (len == 0 || value > 255 || (len > 1 && in.getByte(s) == '0')) {
                return false;
            }
        }
        return p == end;
    }
}
