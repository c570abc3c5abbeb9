package dev.turnpike.http2;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The first handler of a cleartext connection: decides between HTTP/2 with prior knowledge (the client's first
 * bytes are the connection preface, RFC 9113 section 3.3) and HTTP/1.1, installs that protocol behind itself and
 * leaves, handing over the bytes read so far. It decides at the first byte that differs from the preface, so an
 * HTTP/1.1 request is never held back. A client that sends nothing, or stalls inside something that still looks
 * like the preface, is closed after the request-head timeout.
 */
final class PrefaceDetector extends ByteToMessageDecoder {
    private static final ByteBuf PREFACE = Http2CodecUtil.connectionPrefaceBuf();

    private final long timeoutNanos;
    private final Consumer<Channel> http2;
    private final Consumer<Channel> http1;
    private ScheduledFuture<?> timer;
    private boolean decided;

    PrefaceDetector(long timeoutNanos, Consumer<Channel> http2, Consumer<Channel> http1) {
        this.timeoutNanos = timeoutNanos;
        this.http2 = http2;
        this.http1 = http1;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive()) {
            startTimer(ctx);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        startTimer(ctx);
        super.channelActive(ctx);
    }

    private void startTimer(ChannelHandlerContext ctx) {
        if (timer == null && !decided) {
            timer = ctx.executor().schedule(() -> {
                if (!decided) {
                    ctx.close();
                }
            }, timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (decided) {
            return;
        }
        int n = Math.min(in.readableBytes(), PREFACE.readableBytes());
        if (!ByteBufUtil.equals(in, in.readerIndex(), PREFACE, PREFACE.readerIndex(), n)) {
            decide(ctx, http1);
        } else if (n == PREFACE.readableBytes()) {
            decide(ctx, http2);
        }
    }

    /** Installs the protocol behind this handler and leaves; what was read goes on to the protocol's first handler. */
    private void decide(ChannelHandlerContext ctx, Consumer<Channel> protocol) {
        decided = true;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        protocol.accept(ctx.channel());
        ctx.pipeline().remove(this);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
