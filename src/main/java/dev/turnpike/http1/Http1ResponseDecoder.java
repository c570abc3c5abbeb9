package dev.turnpike.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ByteProcessor;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.BooleanSupplier;

import static dev.turnpike.http.HttpTokens.isTchar;
import static dev.turnpike.http1.Http1Syntax.*;

/**
 * Strict, streaming HTTP/1.x response decoder for upstream connections (RFC 9112 section 6.3 framing, the same
 * field syntax as {@link StrictHttp1RequestDecoder}).
 *
 * <p>Per response it emits one {@link DefaultHttpResponse}, zero or more {@link DefaultHttpContent} (retained slices
 * of the cumulation) and one {@link LastHttpContent}, which carries the body's last bytes when they arrive with
 * it. An interim response (1xx) is a head and an empty last content of its own; after a 101 nothing more is
 * decoded, and what follows reaches the next handler raw when this decoder is removed. A response the proxy must
 * not forward gets one {@link LastHttpContent} whose decoder result is a failure, and everything after it is
 * discarded.
 *
 * <p>What it refuses, where peers differ, follows the safer of nginx and HAProxy: obs-fold, a Transfer-Encoding
 * other than {@code chunked}, Transfer-Encoding with Content-Length, more than one Content-Length, a status outside
 * 100-599. What it accepts: a line ended by LF alone (RFC 9112 section 2.2), a status line without a reason
 * phrase, and whitespace between a field name and its colon, which it removes (section 5.1).
 *
 * <p>Buffering is bounded: a status line never beyond {@code maxStatusLineLength + 2} bytes, the field section
 * never beyond {@code maxHeaderSize}, a chunk line never beyond 4098 bytes; body bytes are never buffered, and no
 * body part is larger than {@code maxContentPiece}.
 */
public final class Http1ResponseDecoder extends Http1MessageDecoder {

    /** Continues while the byte may be in a reason phrase: HTAB, SP, VCHAR, obs-text. */
    private static final ByteProcessor REASON_PROCESSOR = FIELD_VALUE_PROCESSOR;

    private enum State {
        STATUS_LINE,
        HEADERS,
        FIXED_BODY,
        UNTIL_CLOSE,
        CHUNK_LINE,
        CHUNK_DATA,
        CHUNK_DATA_END,
        TRAILERS,
        /** After a 101: the bytes belong to the new protocol and stay undecoded. */
        UPGRADED,
        /** After an error: discard everything. */
        BAD
    }

    private final int maxStatusLineLength;
    private final int maxHeaderSize;
    private final int maxContentPiece;
    private final BooleanSupplier answersHead;

    private State state = State.STATUS_LINE;

    // Current response.
    /** Its head, emitted when its field section ends. */
    private DefaultHttpResponse head;
    private int sectionBytes;
    private boolean contentLengthSeen;
    private long contentLength;
    private boolean chunked;
    private long remaining;

    /**
     * {@code answersHead} is asked once per final (non-1xx) response whether it answers a HEAD request: such a
     * response has no body, whatever its framing fields say.
     */
    public Http1ResponseDecoder(int maxStatusLineLength, int maxHeaderSize, int maxContentPiece,
                                BooleanSupplier answersHead) {
        if (maxStatusLineLength < 1 || maxHeaderSize < 1 || maxContentPiece < 1) {
            throw new IllegalArgumentException("limits must be positive");
        }
        this.maxStatusLineLength = maxStatusLineLength;
        this.maxHeaderSize = maxHeaderSize;
        this.maxContentPiece = maxContentPiece;
        this.answersHead = answersHead;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        boolean more;
        do {
            if (!in.isReadable()) {
                return;
            }
            more = switch (state) {
                case STATUS_LINE -> readStatusLine(in, out);
                case HEADERS -> readFieldLines(in, out, false);
                case FIXED_BODY -> readFixedBody(in, out);
                case UNTIL_CLOSE -> readUntilClose(in, out);
                case CHUNK_LINE -> readChunkLine(in, out);
                case CHUNK_DATA -> readChunkData(in, out);
                case CHUNK_DATA_END -> readChunkDataEnd(in, out);
                case TRAILERS -> readFieldLines(in, out, true);
                case UPGRADED -> false;
                case BAD -> {
                    in.skipBytes(in.readableBytes());
                    yield false;
                }
            };
        } while (more);
    }

    /**
     * The connection closed: a body that runs to the close ends here; a body cut short fails (the client must not
     * take a truncated body for a whole one); a head cut short emits nothing, and the connection's close is the
     * failure its user sees.
     */
    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (in.isReadable()) {
            decode(ctx, in, out);
        }
        switch (state) {
            case UNTIL_CLOSE -> {
                out.add(LastHttpContent.EMPTY_LAST_CONTENT);
                reset();
            }
            case FIXED_BODY, CHUNK_LINE, CHUNK_DATA, CHUNK_DATA_END, TRAILERS -> {
                out.add(failure(new PrematureChannelClosureException("the connection closed before the body ended")));
                reset();
                state = State.BAD;
            }
            default -> {
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // States. Each returns true to continue decoding, false to return from decode() (need more data,
    // error, or a response was completed so that its messages are fired before the next one starts).
    // ---------------------------------------------------------------------------------------------

    private boolean readStatusLine(ByteBuf in, List<Object> out) {
        final int window = saturatedAdd(maxStatusLineLength, 2);
        final int r = in.readerIndex();
        final int lf = findLf(in, window);
        if (lf < 0) {
            if (in.readableBytes() >= window) {
                return fail(in, out, "status line too long");
            }
            return false;
        }
        final int end = lineEnd(in, r, lf);
        if (end - r > maxStatusLineLength) {
            return fail(in, out, "status line too long");
        }
        // HTTP-version SP 3DIGIT [ SP reason-phrase ]
        if (end - r < 12 || in.getByte(r + 8) != SP) {
            return fail(in, out, "malformed status line");
        }
        final long v = in.getLong(r);
        final HttpVersion version;
        if (v == HTTP_1_1_LONG) {
            version = HttpVersion.HTTP_1_1;
        } else if (v == HTTP_1_0_LONG) {
            version = HttpVersion.HTTP_1_0;
        } else {
            return fail(in, out, "unsupported or malformed HTTP version");
        }
        final byte d1 = in.getByte(r + 9);
        final byte d2 = in.getByte(r + 10);
        final byte d3 = in.getByte(r + 11);
        if (!isDigit(d1) || !isDigit(d2) || !isDigit(d3)) {
            return fail(in, out, "malformed status code");
        }
        final int code = (d1 - '0') * 100 + (d2 - '0') * 10 + (d3 - '0');
        if (code < 100 || code > 599) {
            return fail(in, out, "status code out of range");
        }
        final HttpResponseStatus status;
        if (end > r + 12 && in.getByte(r + 12) != SP) {
            return fail(in, out, "malformed status code");
        }
        if (end <= r + 13) { // no reason phrase, or an empty one
            status = HttpResponseStatus.valueOf(code);
        } else {
            final int rs = r + 13;
            if (rs < end && in.forEachByte(rs, end - rs, REASON_PROCESSOR) >= 0) {
                return fail(in, out, "invalid character in reason phrase");
            }
            status = status(code, in, rs, end);
        }
        in.readerIndex(lf + 1);
        scanned = 0;
        startHead();
        head = new DefaultHttpResponse(version, status, headers);
        sectionBytes = 0;
        state = State.HEADERS;
        return true;
    }

    /** The standard status for {@code code} when the reason phrase is its own, else one with the upstream's phrase. */
    private static HttpResponseStatus status(int code, ByteBuf in, int start, int end) {
        HttpResponseStatus standard = HttpResponseStatus.valueOf(code);
        String phrase = standard.reasonPhrase();
        int n = end - start;
        if (n == phrase.length()) {
            int i = 0;
            while (i < n && in.getByte(start + i) == phrase.charAt(i)) {
                i++;
            }
            if (i == n) {
                return standard;
            }
        }
        return new HttpResponseStatus(code, in.toString(start, n, StandardCharsets.ISO_8859_1));
    }

    private boolean readFieldLines(ByteBuf in, List<Object> out, boolean trailer) {
        for (;;) {
            final int n = in.readableBytes();
            if (n == 0) {
                return false;
            }
            final int r = in.readerIndex();
            final byte first = in.getByte(r);
            if (first == CR || first == LF) {
                if (first == CR) {
                    if (n < 2) {
                        return false;
                    }
                    if (in.getByte(r + 1) != LF) {
                        return fail(in, out, "bare CR in field section");
                    }
                    in.skipBytes(2);
                } else {
                    in.skipBytes(1);
                }
                scanned = 0;
                return trailer ? finishTrailers(out) : finishHead(in, out);
            }
            if (first == SP || first == HTAB) {
                return fail(in, out, "obsolete line folding");
            }
            final int budget = maxHeaderSize - sectionBytes; // >= 0
            final int lf = findLf(in, budget);
            if (lf < 0) {
                if (n >= budget) {
                    return fail(in, out, "field section too large");
                }
                return false;
            }
            if (!parseFieldLine(in, out, r, lineEnd(in, r, lf), trailer)) {
                return false;
            }
            sectionBytes += lf + 1 - r;
            in.readerIndex(lf + 1);
            scanned = 0;
        }
    }

    /** Parses and records one field line in [start, end) (line ending excluded, first byte not whitespace). */
    private boolean parseFieldLine(ByteBuf in, List<Object> out, int start, int end, boolean trailer) {
        // One bulk copy of the line, then plain array reads: cheaper than a bounds-checked read per byte.
        final int len = end - start;
        final byte[] line = lineScratch(len);
        in.getBytes(start, line, 0, len);
        int colon = 0;
        while (colon < len && line[colon] != ':') {
            colon++;
        }
        if (colon == 0 || colon == len) {
            return fail(in, out, colon == 0 ? "empty field name" : "missing colon in field line");
        }
        int nameLen = colon;
        while (isOws(line[nameLen - 1])) {
            nameLen--; // the first byte is not whitespace: stops at 1
        }
        for (int i = 0; i < nameLen; i++) {
            if (!isTchar(line[i] & 0xFF)) {
                return fail(in, out, "invalid field name");
            }
        }
        int vs = colon + 1;
        int ve = len;
        while (vs < ve && isOws(line[vs])) {
            vs++;
        }
        while (ve > vs && isOws(line[ve - 1])) {
            ve--;
        }
        for (int i = vs; i < ve; i++) {
            if (!isFieldValueByte(line[i])) {
                return fail(in, out, "invalid character in field value");
            }
        }
        final int valueLen = ve - vs;
        if (!trailer) {
            if (nameLen == CONTENT_LENGTH.length && equalsIgnoreCase(line, 0, CONTENT_LENGTH)) {
                if (contentLengthSeen) {
                    return fail(in, out, "more than one Content-Length");
                }
                long cl = parseContentLength(line, vs, valueLen);
                if (cl < 0) {
                    return fail(in, out, "invalid Content-Length");
                }
                contentLengthSeen = true;
                contentLength = cl;
            } else if (nameLen == TRANSFER_ENCODING.length && equalsIgnoreCase(line, 0, TRANSFER_ENCODING)) {
                // Only chunked, once: a body in another transfer coding cannot be forwarded without it.
                if (chunked || valueLen != CHUNKED.length || !equalsIgnoreCase(line, vs, CHUNKED)) {
                    return fail(in, out, "unsupported Transfer-Encoding");
                }
                chunked = true;
            }
        }
        // AsciiStrings for both: a name's hash is kept, and a common name spelt the usual way is a shared constant.
        addField(line, nameLen, vs, ve, trailer);
        return true;
    }

    private boolean finishHead(ByteBuf in, List<Object> out) {
        final DefaultHttpResponse head = this.head;
        final int code = head.status().code();
        if (chunked && (contentLengthSeen || head.protocolVersion() == HttpVersion.HTTP_1_0)) {
            return fail(in, out, contentLengthSeen ? "both Transfer-Encoding and Content-Length"
                    : "Transfer-Encoding in an HTTP/1.0 response");
        }
        this.head = null;
        headers = null;
        out.add(head);
        if (code < 200) {
            reset();
            if (code == 101) {
                out.add(LastHttpContent.EMPTY_LAST_CONTENT);
                state = State.UPGRADED;
                return false;
            }
            return complete(out, LastHttpContent.EMPTY_LAST_CONTENT);
        }
        if (answersHead.getAsBoolean() || code == 204 || code == 304) {
            return complete(out, LastHttpContent.EMPTY_LAST_CONTENT);
        }
        if (chunked) {
            state = State.CHUNK_LINE;
            return true;
        }
        if (contentLengthSeen) {
            if (contentLength == 0) {
                return complete(out, LastHttpContent.EMPTY_LAST_CONTENT);
            }
            remaining = contentLength;
            state = State.FIXED_BODY;
            return true;
        }
        state = State.UNTIL_CLOSE;
        return true;
    }

    private boolean readFixedBody(ByteBuf in, List<Object> out) {
        final int readable = in.readableBytes();
        if (remaining <= readable && remaining <= maxContentPiece) {
            // The rest of the body is here: it goes out as the last content, one message instead of two.
            // No trailers can follow a Content-Length body: no trailer headers to make.
            return complete(out, new DefaultLastHttpContent(in.readRetainedSlice((int) remaining),
                    EmptyHttpHeaders.INSTANCE));
        }
        final int toRead = (int) Math.min(Math.min(readable, remaining), maxContentPiece);
        out.add(new DefaultHttpContent(in.readRetainedSlice(toRead)));
        remaining -= toRead;
        return in.isReadable();
    }

    private boolean readUntilClose(ByteBuf in, List<Object> out) {
        final int toRead = Math.min(in.readableBytes(), maxContentPiece);
        out.add(new DefaultHttpContent(in.readRetainedSlice(toRead)));
        return in.isReadable();
    }

    private boolean readChunkLine(ByteBuf in, List<Object> out) {
        final int window = MAX_CHUNK_LINE_LENGTH + 2;
        final int r = in.readerIndex();
        final int lf = findLf(in, window);
        if (lf < 0) {
            if (in.readableBytes() >= window) {
                return fail(in, out, "chunk line too long");
            }
            return false;
        }
        final int end = lineEnd(in, r, lf);
        if (end - r > MAX_CHUNK_LINE_LENGTH) {
            return fail(in, out, "chunk line too long");
        }
        final long size = parseChunkLine(in, r, end);
        if (size < 0) {
            return fail(in, out, chunkLineProblem(size));
        }
        in.readerIndex(lf + 1);
        scanned = 0;
        if (size == 0) {
            trailers = null;
            sectionBytes = 0;
            state = State.TRAILERS;
        } else {
            remaining = size;
            state = State.CHUNK_DATA;
        }
        return true;
    }

    private boolean readChunkData(ByteBuf in, List<Object> out) {
        final int toRead = (int) Math.min(Math.min(in.readableBytes(), remaining), maxContentPiece);
        out.add(new DefaultHttpContent(in.readRetainedSlice(toRead)));
        remaining -= toRead;
        if (remaining == 0) {
            state = State.CHUNK_DATA_END;
        }
        return in.isReadable();
    }

    private boolean readChunkDataEnd(ByteBuf in, List<Object> out) {
        final int r = in.readerIndex();
        final byte b = in.getByte(r);
        if (b == LF) {
            in.skipBytes(1);
        } else if (b != CR) {
            return fail(in, out, "chunk data not followed by a line ending");
        } else if (in.readableBytes() < 2) {
            return false;
        } else if (in.getByte(r + 1) != LF) {
            return fail(in, out, "chunk data not followed by a line ending");
        } else {
            in.skipBytes(2);
        }
        scanned = 0;
        state = State.CHUNK_LINE;
        return true;
    }

    private boolean finishTrailers(List<Object> out) {
        HttpHeaders t = trailers;
        trailers = null;
        return complete(out, t == null ? LastHttpContent.EMPTY_LAST_CONTENT
                : new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, t));
    }

    /** Emits the last content and gets ready for the next response; always returns false. */
    private boolean complete(List<Object> out, LastHttpContent last) {
        out.add(last);
        reset();
        return false;
    }

    private boolean fail(ByteBuf in, List<Object> out, String reason) {
        out.add(failure(new DecoderException("invalid response from the upstream: " + reason)));
        reset();
        state = State.BAD;
        in.skipBytes(in.readableBytes());
        return false;
    }

    private static LastHttpContent failure(Exception cause) {
        LastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
        last.setDecoderResult(DecoderResult.failure(cause));
        return last;
    }

    private void reset() {
        state = State.STATUS_LINE;
        scanned = 0;
        head = null;
        headers = null;
        trailers = null;
        sectionBytes = 0;
        contentLengthSeen = false;
        contentLength = 0;
        chunked = false;
        remaining = 0;
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------

    /** The end of the line whose LF is at {@code lf}: before its CR, if it has one. */
    private static int lineEnd(ByteBuf in, int r, int lf) {
        return lf > r && in.getByte(lf - 1) == CR ? lf - 1 : lf;
    }
}
