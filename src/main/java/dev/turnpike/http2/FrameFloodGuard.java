package dev.turnpike.http2;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DecoratingHttp2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Flags;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2Settings;

import java.util.concurrent.TimeUnit;

/**
 * Counts the frames a client can send as fast as it likes without opening a stream, and that each cost work
 * (an ACK to write, settings to apply, a priority tree to update): SETTINGS, PING, PRIORITY, GOAWAY, frames of
 * unknown types and DATA frames without payload that do not end their stream. More than {@code max} of them
 * in one window is a flood (CVE-2019-9512 ping flood, CVE-2019-9515 settings flood, CVE-2019-9516/9518 empty
 * frames): a connection error ENHANCE_YOUR_CALM, which sends GOAWAY and closes. Netty's own limits cover a peer
 * that floods without reading (queued control frames) and consecutive empty DATA frames; this covers one that
 * reads and spreads them out.
 */
final class FrameFloodGuard extends DecoratingHttp2ConnectionDecoder {
    private final int max;
    private final long windowNanos;
    private long windowStart;
    private int count;

    FrameFloodGuard(Http2ConnectionDecoder delegate, int max, long windowNanos) {
        super(delegate);
        this.max = max;
        this.windowNanos = windowNanos;
        this.windowStart = System.nanoTime() - windowNanos;
    }

    @Override
    public void frameListener(Http2FrameListener listener) {
        super.frameListener(listener == null ? null : new Counting(listener));
    }

    @Override
    public Http2FrameListener frameListener() {
        Http2FrameListener l = super.frameListener();
        return l instanceof Counting c ? c.delegate() : l;
    }

    private void count() throws Http2Exception {
        long now = System.nanoTime();
        if (now - windowStart >= windowNanos) {
            windowStart = now;
            count = 1;
        } else if (++count > max) {
            throw Http2Exception.connectionError(Http2Error.ENHANCE_YOUR_CALM,
                    "more than %d control or empty frames within %d ms", max, TimeUnit.NANOSECONDS.toMillis(windowNanos));
        }
    }

    private final class Counting extends Http2FrameListenerDecorator {
        Counting(Http2FrameListener listener) {
            super(listener);
        }

        Http2FrameListener delegate() {
            return listener;
        }

        @Override
        public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream)
                throws Http2Exception {
            if (!endOfStream && !data.isReadable()) {
                count();
            }
            return super.onDataRead(ctx, streamId, data, padding, endOfStream);
        }

        @Override
        public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) throws Http2Exception {
            count();
            super.onSettingsRead(ctx, settings);
        }

        @Override
        public void onSettingsAckRead(ChannelHandlerContext ctx) throws Http2Exception {
            count();
            super.onSettingsAckRead(ctx);
        }

        @Override
        public void onPingRead(ChannelHandlerContext ctx, long data) throws Http2Exception {
            count();
            super.onPingRead(ctx, data);
        }

        @Override
        public void onPingAckRead(ChannelHandlerContext ctx, long data) throws Http2Exception {
            count();
            super.onPingAckRead(ctx, data);
        }

        @Override
        public void onPriorityRead(ChannelHandlerContext ctx, int streamId, int streamDependency, short weight,
                                   boolean exclusive) throws Http2Exception {
            count();
            super.onPriorityRead(ctx, streamId, streamDependency, weight, exclusive);
        }

        @Override
        public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData)
                throws Http2Exception {
            count();
            super.onGoAwayRead(ctx, lastStreamId, errorCode, debugData);
        }

        @Override
        public void onUnknownFrame(ChannelHandlerContext ctx, byte frameType, int streamId, Http2Flags flags,
                                   ByteBuf payload) throws Http2Exception {
            count();
            super.onUnknownFrame(ctx, frameType, streamId, flags, payload);
        }
    }
}
