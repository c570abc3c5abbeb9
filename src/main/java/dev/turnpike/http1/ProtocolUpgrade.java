package dev.turnpike.http1;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpRequest;

/**
 * A protocol a cleartext HTTP/1.1 connection may switch to with {@code Upgrade} (RFC 9110 section 7.8), such as
 * h2c. {@link Http1ServerHandler} offers it every bodyless request that names an upgrade and is the last one the
 * client has sent; a request it declines is answered over HTTP/1.1, ignoring the {@code Upgrade} header as the
 * RFC allows.
 */
public interface ProtocolUpgrade {

    /** Returns how to switch for {@code request}, or null to answer it over HTTP/1.1. */
    Switch prepare(ChannelHandlerContext ctx, HttpRequest request);

    /** A prepared switch: the 101 names {@link #protocol()}, then {@link #install} takes over the connection. */
    interface Switch {
        /** The token of the {@code Upgrade} header of the 101 response. */
        CharSequence protocol();

        /**
         * Adds the new protocol's handlers to {@code pipeline} right after the handler named {@code after} (the
         * HTTP/1 decoder, removed just afterwards so that the bytes it holds beyond the request reach the new
         * protocol) and hands it the request. The 101 response has been written and flushed.
         */
        void install(ChannelPipeline pipeline, String after);
    }
}
