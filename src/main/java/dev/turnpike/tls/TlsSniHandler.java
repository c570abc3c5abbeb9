package dev.turnpike.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;

/**
 * Reads the ClientHello's server name, picks the certificate (exact name, then wildcard, then the default) and
 * replaces itself with an {@link SslHandler} for it, with the certificate's current OCSP response stapled.
 * The choice is a lookup in memory on the event loop; nothing here waits.
 */
final class TlsSniHandler extends SniHandler {
    private final TlsListener owner;
    private final ProtocolSelector selector;
    private TlsListener.Loaded chosen;

    TlsSniHandler(TlsListener owner, ProtocolSelector selector, long handshakeTimeoutMillis) {
        super(hostname -> null, handshakeTimeoutMillis); // lookup() below does the choosing
        this.owner = owner;
        this.selector = selector;
    }

    @Override
    protected Future<SslContext> lookup(ChannelHandlerContext ctx, String hostname) {
        chosen = owner.select(hostname);
        selector.selected(chosen, hostname);
        return ctx.executor().newSucceededFuture(chosen.context);
    }

    @Override
    protected SslHandler newSslHandler(SslContext context, ByteBufAllocator allocator) {
        SslHandler handler = super.newSslHandler(context, allocator);
        if (chosen.ocspResponder != null && handler.engine() instanceof ReferenceCountedOpenSslEngine engine) {
            byte[] staple = chosen.stapleNow();
            if (staple != null) {
                engine.setOcspResponse(staple);
            }
        }
        return handler;
    }
}
