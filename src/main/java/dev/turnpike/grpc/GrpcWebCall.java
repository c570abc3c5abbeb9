package dev.turnpike.grpc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.LastHttpContent;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * The gRPC-Web translation of one call (grpc/doc/PROTOCOL-WEB.md): a browser's {@code application/grpc-web[+proto]}
 * or {@code application/grpc-web-text[+proto]} request goes upstream as {@code application/grpc[+proto]}, and the
 * response comes back in the client's type with the HTTP/2 trailers moved into the body as a trailer frame (flag
 * {@code 0x80}, then {@code name: value\r\n} lines), since browsers cannot read HTTP trailers. For the {@code -text}
 * form the request body is base64-decoded and the response body base64-encoded, both streaming: a few bytes are
 * carried between pieces so that padding only ever ends the whole body.
 *
 * <p>Not thread-safe: one per call, on its event loop. The methods take ownership of the pieces they are given.
 */
public final class GrpcWebCall {
    private static final byte TRAILER_FLAG = (byte) 0x80;
    private static final byte[] DECODE = new byte[128];

    static {
        java.util.Arrays.fill(DECODE, (byte) -1);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < alphabet.length(); i++) {
            DECODE[alphabet.charAt(i)] = (byte) i;
        }
    }

    private final boolean text;
    /** What follows the base type in the client's content type: {@code +proto}, {@code ;charset=…} or nothing. */
    private final String suffix;
    private final byte[] inCarry = new byte[4];
    private int inCarried;
    private final byte[] outCarry = new byte[2];
    private int outCarried;

    private GrpcWebCall(boolean text, String suffix) {
        this.text = text;
        this.suffix = suffix;
    }

    /** The translation for a request of {@code contentType}, or null when it is not gRPC-Web. */
    public static GrpcWebCall of(CharSequence contentType) {
        if (!Grpc.isGrpcWeb(contentType)) {
            return null;
        }
        String ct = contentType.toString();
        boolean text = Grpc.isGrpcWebText(ct);
        int base = (text ? Grpc.APPLICATION_GRPC_WEB_TEXT : Grpc.APPLICATION_GRPC_WEB).length();
        return new GrpcWebCall(text, ct.substring(base).strip());
    }

    public boolean isText() {
        return text;
    }

    /** The content type of the request sent upstream: {@code application/grpc} with the client's suffix. */
    public String upstreamContentType() {
        return Grpc.APPLICATION_GRPC + suffix;
    }

    /** The content type of the response to the client, the client's gRPC-Web type. */
    public String clientContentType() {
        return (text ? Grpc.APPLICATION_GRPC_WEB_TEXT : Grpc.APPLICATION_GRPC_WEB) + suffix;
    }

    /**
     * The upstream request's headers: the gRPC content type, {@code te: trailers} (gRPC servers require it), and no
     * Content-Length when the body shrinks (base64).
     */
    public void requestHeaders(HttpHeaders h) {
        h.set(HttpHeaderNames.CONTENT_TYPE, upstreamContentType());
        h.set(HttpHeaderNames.TE, io.netty.handler.codec.http.HttpHeaderValues.TRAILERS);
        if (text) {
            h.remove(HttpHeaderNames.CONTENT_LENGTH);
        }
    }

    /** The response head's headers: the client's content type, and no Content-Length (the body grows). */
    public void responseHeaders(HttpHeaders h) {
        CharSequence ct = h.get(HttpHeaderNames.CONTENT_TYPE);
        if (ct == null || Grpc.isGrpc(ct) && !Grpc.isGrpcWeb(ct)) {
            h.set(HttpHeaderNames.CONTENT_TYPE, clientContentType());
        }
        h.remove(HttpHeaderNames.CONTENT_LENGTH);
    }

    // ---- request body --------------------------------------------------------------------------------------

    /**
     * A piece of the request body as the upstream gets it: as is, or base64-decoded.
     *
     * @throws IllegalArgumentException when a {@code -text} body is not base64 ({@code part} is released)
     */
    public HttpContent request(HttpContent part, ByteBufAllocator alloc) {
        if (!text) {
            return part;
        }
        boolean last = part instanceof LastHttpContent;
        ByteBuf in = part.content();
        ByteBuf out = alloc.buffer(in.readableBytes() / 4 * 3 + 3);
        try {
            while (in.isReadable()) {
                byte c = in.readByte();
                if (c == '\r' || c == '\n' || c == ' ' || c == '\t') {
                    continue;
                }
                inCarry[inCarried++] = c;
                if (inCarried == 4) {
                    decodeQuad(out);
                    inCarried = 0;
                }
            }
            if (last && inCarried != 0) {
                throw new IllegalArgumentException("the grpc-web-text body ends inside a base64 group");
            }
        } catch (RuntimeException e) {
            out.release();
            part.release();
            throw e;
        }
        HttpContent decoded = last
                ? new DefaultLastHttpContent(out, ((LastHttpContent) part).trailingHeaders())
                : new DefaultHttpContent(out);
        part.release();
        return decoded;
    }

    /** One group of 4 base64 characters; padding may end a group anywhere (concatenated base64 segments). */
    private void decodeQuad(ByteBuf out) {
        int pad = 0;
        int v = 0;
        for (int i = 0; i < 4; i++) {
            byte c = inCarry[i];
            int d;
            if (c == '=') {
                if (i < 2) {
                    throw new IllegalArgumentException("misplaced base64 padding in the grpc-web-text body");
                }
                pad++;
                d = 0;
            } else {
                if (pad > 0 || c < 0 || (d = DECODE[c]) < 0) {
                    throw new IllegalArgumentException("the grpc-web-text body is not base64");
                }
            }
            v = (v << 6) | d;
        }
        out.writeByte(v >> 16);
        if (pad < 2) {
            out.writeByte(v >> 8);
        }
        if (pad < 1) {
            out.writeByte(v);
        }
    }

    // ---- response body -------------------------------------------------------------------------------------

    /** A piece of the response body as the client gets it: as is, or base64-encoded. */
    public HttpContent response(HttpContent part, ByteBufAllocator alloc) {
        if (!text) {
            return part;
        }
        ByteBuf encoded = encode(part.content(), false, alloc);
        part.release();
        return new DefaultHttpContent(encoded);
    }

    /**
     * The end of the response as the client gets it: the last bytes, then the trailers (if any) as a trailer frame,
     * all in the body; no HTTP trailers are left.
     */
    public LastHttpContent end(LastHttpContent last, ByteBufAllocator alloc) {
        HttpHeaders trailers = last.trailingHeaders();
        ByteBuf body = last.content().retain();
        last.release();
        if (!trailers.isEmpty()) {
            ByteBuf frame = trailerFrame(trailers, alloc);
            body = Unpooled.wrappedBuffer(body, frame);
        }
        if (!text) {
            return new DefaultLastHttpContent(body);
        }
        ByteBuf encoded = encode(body, true, alloc);
        body.release();
        return new DefaultLastHttpContent(encoded);
    }

    /** The trailer frame of {@code trailers}: flag 0x80, 4-byte length, {@code name: value\r\n} lines. */
    public static ByteBuf trailerFrame(HttpHeaders trailers, ByteBufAllocator alloc) {
        StringBuilder sb = new StringBuilder(64);
        for (Map.Entry<String, String> e : trailers) {
            sb.append(e.getKey().toLowerCase(Locale.ROOT)).append(": ").append(e.getValue()).append("\r\n");
        }
        byte[] lines = sb.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuf frame = alloc.buffer(Grpc.FRAME_HEADER + lines.length);
        frame.writeByte(TRAILER_FLAG).writeInt(lines.length).writeBytes(lines);
        return frame;
    }

    /** Base64 of the carried bytes and {@code in}; keeps up to 2 bytes back unless {@code end}. */
    private ByteBuf encode(ByteBuf in, boolean end, ByteBufAllocator alloc) {
        int total = outCarried + in.readableBytes();
        int whole = end ? total : total - total % 3;
        byte[] bytes = new byte[whole];
        int n = Math.min(outCarried, whole);
        System.arraycopy(outCarry, 0, bytes, 0, n);
        int fromIn = whole - n;
        in.readBytes(bytes, n, fromIn);
        // what was not encoded goes to the carry (only when not at the end)
        int left = outCarried - n;
        byte[] carry = new byte[2];
        int c = 0;
        for (int i = n; i < n + left; i++) {
            carry[c++] = outCarry[i];
        }
        while (in.isReadable()) {
            carry[c++] = in.readByte();
        }
        System.arraycopy(carry, 0, outCarry, 0, c);
        outCarried = c;
        byte[] b64 = java.util.Base64.getEncoder().encode(bytes);
        ByteBuf out = alloc.buffer(b64.length);
        out.writeBytes(b64);
        return out;
    }
}
