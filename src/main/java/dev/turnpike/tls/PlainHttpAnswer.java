package dev.turnpike.tls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * Looks at the first byte a client sends to a TLS port: a TLS handshake starts with 0x16, an HTTP request with
 * an upper-case method name. Someone who typed http:// for an https:// port then gets a readable 400 instead of
 * a silently closed connection (nginx answers the same way). Removes itself after the first read.
 */
final class PlainHttpAnswer extends ChannelInboundHandlerAdapter {
    private static final String ANSWER = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
            + "Connection: close\r\nContent-Length: 52\r\n\r\nThis port speaks HTTPS; use an https:// URL instead.\n";

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf && buf.isReadable()) {
            byte first = buf.getByte(buf.readerIndex());
            if (first >= 'A' && first <= 'Z') {
                ReferenceCountUtil.release(msg);
                ctx.channel().config().setAutoRead(false);
                ctx.writeAndFlush(ByteBufUtil.writeAscii(ctx.alloc(), ANSWER)).addListener(ChannelFutureListener.CLOSE);
                return;
            }
        }
        ctx.pipeline().remove(this);
        ctx.fireChannelRead(msg);
    }
}
