package dev.turnpike.upstream;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;

/**
 * The pieces of an HTTP/2 client connection to an upstream, shared by the {@link Http2ConnectionPool} and the active
 * health checks so that both speak the same HTTP/2: a frame codec that refuses server push and limits response
 * headers, and a multiplexer whose stream channels the caller opens.
 */
public final class Http2ClientSupport {
    /** Per-stream receive window: what one stream of a slow client may hold here at most. */
    public static final int STREAM_WINDOW = 256 * 1024;

    private Http2ClientSupport() {
    }

    /** A client frame codec: no push, our stream window, response header lists up to {@code maxHeaderListSize}. */
    public static Http2FrameCodec codec(int maxHeaderListSize) {
        Http2Settings settings = Http2Settings.defaultSettings()
                .pushEnabled(false)
                .maxConcurrentStreams(0) // the upstream may not open streams towards us
                .initialWindowSize(STREAM_WINDOW)
                .maxHeaderListSize(maxHeaderListSize);
        return Http2FrameCodecBuilder.forClient()
                .initialSettings(settings)
                .validateHeaders(true)
                .build();
    }

    /** The multiplexer that goes after {@link #codec}; streams the upstream would open are closed at once. */
    public static Http2MultiplexHandler multiplexer() {
        return new Http2MultiplexHandler(RejectPush.INSTANCE);
    }

    /** Streams the upstream opens towards us (push, which our SETTINGS disable): refused at once. */
    @ChannelHandler.Sharable
    private static final class RejectPush extends ChannelInboundHandlerAdapter {
        static final RejectPush INSTANCE = new RejectPush();

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.channel().close();
        }
    }
}
