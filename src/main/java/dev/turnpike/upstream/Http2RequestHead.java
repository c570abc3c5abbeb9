package dev.turnpike.upstream;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpScheme;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;

/**
 * Between an upstream stream's {@code Http2StreamFrameToHttpObjectCodec} and its {@link UpstreamConnection}: turns the
 * request head into a HEADERS frame itself and drops the {@code x-http2-stream-id} the codec adds to the response.
 *
 * <p>Why not leave the head to the codec: it writes its {@code x-http2-scheme} into the request's headers, and the
 * request is the proxy's, shared with retries and the mirror; here the headers are only read. {@code :authority} is
 * the Host header the proxy chose, {@code :path} the request target, and the fields go through Netty's conversion,
 * which drops connection-specific ones (RFC 9113 §8.2.2) and keeps {@code te: trailers}.
 */
final class Http2RequestHead extends ChannelDuplexHandler {
    private final HttpScheme scheme;

    Http2RequestHead(boolean tls) {
        this.scheme = tls ? HttpScheme.HTTPS : HttpScheme.HTTP;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        // A request without a body may come whole (a FullHttpRequest with nothing in it): one HEADERS frame that
        // ends the stream. One with content or trailers is left to the codec.
        boolean whole = msg instanceof FullHttpRequest full && !full.content().isReadable()
                && full.trailingHeaders().isEmpty();
        if (msg instanceof HttpRequest req && (whole || !(msg instanceof FullHttpRequest))) {
            Http2Headers h = new DefaultHttp2Headers(false, req.headers().size() + 4)
                    .method(req.method().asciiName())
                    .scheme(scheme.name())
                    .path(req.uri());
            String host = req.headers().get(HttpHeaderNames.HOST);
            if (host != null) {
                h.authority(host);
            }
            HttpConversionUtil.toHttp2Headers(req.headers(), h);
            if (whole) {
                ((FullHttpRequest) msg).release();
            }
            ctx.write(new DefaultHttp2HeadersFrame(h, whole), promise);
            return;
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpResponse res) {
            res.headers().remove(HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text());
        }
        ctx.fireChannelRead(msg);
    }
}
