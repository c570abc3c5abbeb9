package dev.turnpike.http1;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.util.AsciiString;

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

    /** Records a validated field of the head, or of the trailer section when {@code trailer}. */
    final void addField(AsciiString name, CharSequence value, boolean trailer) {
        if (trailer) {
            HttpHeaders t = trailers;
            if (t == null) {
                t = trailers = NO_VALIDATION.newHeaders();
            }
            t.add(name, value);
        } else {
            headers.add(name, value);
        }
    }
}
