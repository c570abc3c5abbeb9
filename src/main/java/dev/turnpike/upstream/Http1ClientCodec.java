package dev.turnpike.upstream;

import dev.turnpike.http1.Http1HeadWriter;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpStatusClass;

import java.util.ArrayDeque;
import java.util.List;

/**
 * The HTTP/1.1 codec of an upstream connection: Netty's response parser and request encoder, paired as Netty's
 * {@code HttpClientCodec} pairs them (a response to HEAD has no body, whatever its framing fields say), with the
 * request head written by {@link Http1HeadWriter} (one copy, where Netty's encoder copies field by field and
 * encodes the target as UTF-8). The two are separate handlers of the pipeline rather than one combined handler,
 * which would add a hop to every read and write. Turnpike sends no CONNECT upstream, so {@code HttpClientCodec}'s
 * tunnel case is not needed here.
 */
final class Http1ClientCodec {
    private static final String DECODER = "http-decoder";
    private static final String ENCODER = "http-encoder";

    /** The methods of the requests sent and not yet answered, oldest first. */
    private final ArrayDeque<HttpMethod> sent = new ArrayDeque<>(2);

    private Http1ClientCodec() {
    }

    /** Adds the decoder and the encoder at the end of {@code p}. */
    static void install(ChannelPipeline p, HttpDecoderConfig config) {
        Http1ClientCodec codec = new Http1ClientCodec();
        p.addLast(DECODER, codec.new ResponseDecoder(config)).addLast(ENCODER, codec.new RequestEncoder());
    }

    /**
     * Takes HTTP/1.1 off the connection (after a 101): the encoder first, then the decoder, whose removal passes
     * the bytes it holds beyond the response on to the next handler.
     */
    static void remove(ChannelPipeline p) {
        p.remove(ENCODER);
        p.remove(DECODER);
    }

    private final class RequestEncoder extends HttpRequestEncoder {
        @Override
        protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) throws Exception {
            if (msg instanceof HttpRequest request) {
                sent.offer(request.method());
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

    private final class ResponseDecoder extends HttpResponseDecoder {
        ResponseDecoder(HttpDecoderConfig config) {
            super(config);
        }

        @Override
        protected boolean isContentAlwaysEmpty(HttpMessage msg) {
            // An interim response (1xx) answers no request of its own: the final one that follows does.
            if (((HttpResponse) msg).status().codeClass() != HttpStatusClass.INFORMATIONAL
                    && HttpMethod.HEAD.equals(sent.poll())) {
                return true;
            }
            return super.isContentAlwaysEmpty(msg);
        }
    }
}
