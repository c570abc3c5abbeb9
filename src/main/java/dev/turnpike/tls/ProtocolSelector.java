package dev.turnpike.tls;

import dev.turnpike.http.HttpServices;
import dev.turnpike.http.TlsInfo;
import dev.turnpike.http1.Http1ServerHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Supplier;

/**
 * After the handshake, hands the connection to the protocol the client chose by ALPN: {@code h2} to the
 * {@link Http2Hook} (offered only when there is one), {@code http/1.1} or no ALPN at all to
 * {@link Http1ServerHandler} with scheme https and without sendfile (TLS encrypts in user space). This is the
 * one place where a TLS connection becomes an HTTP connection.
 */
final class ProtocolSelector extends ApplicationProtocolNegotiationHandler {
    private static final Logger LOG = LoggerFactory.getLogger(ProtocolSelector.class);

    private final TlsListener owner;
    private final Supplier<HttpServices> services;
    private TlsListener.Loaded selected;
    private String serverName;

    ProtocolSelector(TlsListener owner, Supplier<HttpServices> services) {
        super(ApplicationProtocolNames.HTTP_1_1);
        this.owner = owner;
        this.services = services;
    }

    /** Called by the SNI handler with the certificate it chose and the name the client asked for. */
    void selected(TlsListener.Loaded loaded, String hostname) {
        this.selected = loaded;
        this.serverName = hostname;
    }

    @Override
    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        TlsInfo info = owner.describe(ssl.engine().getSession(), serverName, ssl.applicationProtocol(), selected);
        ctx.channel().attr(TlsInfo.ATTRIBUTE).set(info);
        if (ApplicationProtocolNames.HTTP_2.equals(protocol) && owner.http2() != null) {
            owner.http2().install(ctx.channel(), services, owner.listener());
        } else if (ApplicationProtocolNames.HTTP_1_1.equals(protocol)) {
            Http1ServerHandler.install(ctx.channel(), services, owner.listener(), "https", false);
        } else {
            LOG.debug("closing {}: ALPN chose {}, which is not served", ctx.channel().remoteAddress(), protocol);
            ctx.close();
        }
    }

    @Override
    protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
        // Scanners, old clients and impatient ones fail handshakes all day: not worth a warning each.
        LOG.debug("TLS handshake with {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
        if (cause instanceof DecoderException || cause instanceof java.io.IOException) {
            handshakeFailure(ctx, cause.getCause() != null ? cause.getCause() : cause);
            return;
        }
        super.exceptionCaught(ctx, cause);
    }
}
