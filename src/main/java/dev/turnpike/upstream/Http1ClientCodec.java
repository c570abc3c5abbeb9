package dev.turnpike.upstream;

import dev.turnpike.http1.Http1HeadWriter;
import dev.turnpike.http1.Http1ResponseDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;

import java.util.ArrayDeque;
import java.util.List;

/**
 * The HTTP/1.1 codec of an upstream connection: Turnpike's strict {@link Http1ResponseDecoder} and Netty's request
 * encoder, paired as Netty's {@code HttpClientCodec} pairs them (a response to HEAD has no body, whatever its framing
 * fields say), with the request head written by {@link Http1HeadWriter} (one copy, where Netty's encoder copies field
 * by field and encodes the target as UTF-8). The two are separate handlers of the pipeline rather than one combined
 * handler, which would add a hop to every read and write. Turnpike sends no CONNECT upstream, so
 * {@code HttpClientCodec}'s tunnel case is not needed here.
 */
final class Http1ClientCodec {
    private static final String DECODER = "http-decoder";
    private static final String ENCODER = "http-encoder";

    /**
     * The method of the oldest request sent and not yet answered, and of any sent after it (Turnpike sends one at a
     * time, so that queue stays unmade; a field of this object is one memory access less than a queue's array).
     */
    private HttpMethod oldestSent;
    private ArrayDeque<HttpMethod> laterSent;

    private Http1ClientCodec() {
    }

    /** Adds the decoder and the encoder at the end of {@code p}, the decoder with the pool's limits. */
    static void install(ChannelPipeline p, PoolConfig config) {
        Http1ClientCodec codec = new Http1ClientCodec();
        Http1ResponseDecoder decoder = new Http1ResponseDecoder(config.maxResponseLine(),
                config.maxResponseHeaderSize(), config.maxContentPiece(),
                () -> HttpMethod.HEAD.equals(codec.answered()));
        p.addLast(DECODER, decoder).addLast(ENCODER, codec.new RequestEncoder());
    }

    /**
     * Takes HTTP/1.1 off the connection (after a 101): the encoder first, then the decoder, whose removal passes
     * the bytes it holds beyond the response on to the next handler.
     */
    static void remove(ChannelPipeline p) {
        p.remove(ENCODER);
        p.remove(DECODER);
    }

    private void sent(HttpMethod method) {
        if (oldestSent == null) {
            oldestSent = method;
        } else {
            if (laterSent == null) {
                laterSent = new ArrayDeque<>(2);
            }
            laterSent.add(method);
        }
    }

    /** The method of the request a final response answers (null for a response nothing asked for). */
    private HttpMethod answered() {
        HttpMethod m = oldestSent;
        oldestSent = laterSent == null ? null : laterSent.poll();
        return m;
    }

    private final class RequestEncoder extends HttpRequestEncoder {
        @Override
        protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) throws Exception {
            if (msg instanceof HttpRequest request) {
                sent(request.method());
            }
            super.encode(ctx, msg, out);
        }

        @Override
        protected void encodeInitialLine(ByteBuf buf, HttpRequest request) throws Exception {
            if (!Http1HeadWriter.writeRequestLine(request, buf)) {
                super.encodeInitialLine(buf, request);
            }
        }

        @Override
        protected void encodeHeaders(HttpHeaders headers, ByteBuf buf) {
            Http1HeadWriter.writeFields(headers, buf);
        }
    }
}
