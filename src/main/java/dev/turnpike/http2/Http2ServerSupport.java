package dev.turnpike.http2;

import dev.turnpike.config.ListenerConfig;
import dev.turnpike.http.HttpServices;
import dev.turnpike.http1.Http1ServerHandler;
import dev.turnpike.http1.ProtocolUpgrade;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Base64;
import java.util.List;
import java.util.function.Supplier;

/**
 * Sets a connection up for HTTP/2. {@link #install} is for a connection that already speaks HTTP/2: after TLS
 * and ALPN chose "h2", or after the cleartext preface was seen. {@link #installCleartext} is for a cleartext
 * listener: it reads the first bytes and installs HTTP/2 (the client sent the HTTP/2 connection preface: prior
 * knowledge) or HTTP/1.1, which may then switch to HTTP/2 with {@code Upgrade: h2c} when the listener allows it.
 *
 * <p>The pipeline of an HTTP/2 connection is Netty's {@link Http2FrameCodec} (framing, HPACK, flow control,
 * stream states and the limits Netty enforces), Netty's {@link Http2MultiplexHandler} (one child channel per
 * stream, carrying an {@link Http2StreamTransport}) and {@link Http2ServerConnection} (timeouts, graceful
 * GOAWAY).
 */
public final class Http2ServerSupport {
    private static final Logger LOG = LoggerFactory.getLogger(Http2ServerSupport.class);

    static final String CODEC = "h2-codec";
    static final String MULTIPLEX = "h2-multiplex";
    static final String CONNECTION = "h2-connection";
    static final String STREAM = "h2-stream";

    private static final AsciiString H2C = AsciiString.cached("h2c");
    private static final AsciiString HTTP2_SETTINGS = AsciiString.cached("http2-settings");
    /** One setting in an HTTP2-Settings header: a 16-bit identifier and a 32-bit value (RFC 9113 section 6.5.1). */
    private static final int SETTING_LENGTH = 6;

    private Http2ServerSupport() {
    }

    /**
     * Configures {@code ch} for HTTP/2 once the protocol is known to be HTTP/2, e.g. from the ALPN hook of a TLS
     * listener when "h2" was negotiated (then {@code scheme} is "https"). The handlers are added at the end of
     * the pipeline, after TLS.
     */
    public static void install(Channel ch, Supplier<HttpServices> services, ListenerConfig listener, String scheme) {
        addHandlers(ch.pipeline(), null, services, listener, scheme);
    }

    /**
     * Configures a new cleartext connection: HTTP/2 with prior knowledge when its first bytes are the HTTP/2
     * connection preface, HTTP/1.1 otherwise (able to switch with {@code Upgrade: h2c} if
     * {@code http2.h2c_upgrade} is on). Use only when {@code listener.http2().enabled()}.
     */
    public static void installCleartext(Channel ch, Supplier<HttpServices> services, ListenerConfig listener,
                                        boolean zeroCopy) {
        ch.pipeline().addLast("h2-detect", new PrefaceDetector(
                listener.timeouts().requestHead().toNanos(),
                c -> install(c, services, listener, "http"),
                c -> Http1ServerHandler.install(c, services, listener, "http", zeroCopy,
                        listener.http2().h2cUpgrade() ? new H2cUpgrade(services, listener) : null)));
    }

    /** Adds codec, multiplexer and connection handler after the handler named {@code after}, or at the end. */
    private static Http2FrameCodec addHandlers(ChannelPipeline p, String after, Supplier<HttpServices> services,
                                               ListenerConfig listener, String scheme) {
        ListenerConfig.Http2 cfg = listener.http2();
        Http2FrameCodec codec = ServerCodecBuilder.build(cfg, services.get().requestIdHeader());
        Http2ServerConnection connection = new Http2ServerConnection(codec, listener);
        ChannelHandler streams = new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
                stream.config().setAllocator(stream.parent().config().getAllocator());
                stream.pipeline().addLast(STREAM, new Http2StreamTransport(services, listener, scheme, connection));
            }
        };
        Http2MultiplexHandler multiplex = new Http2MultiplexHandler(streams);
        if (after == null) {
            p.addLast(CODEC, codec).addLast(MULTIPLEX, multiplex).addLast(CONNECTION, connection);
        } else {
            p.addAfter(after, CODEC, codec).addAfter(CODEC, MULTIPLEX, multiplex).addAfter(MULTIPLEX, CONNECTION, connection);
        }
        return codec;
    }

    /**
     * {@code Upgrade: h2c} (RFC 7540 section 3.2; RFC 9113 deprecates it but clients still send it). Only a
     * bodyless request switches (the HTTP/1 handler checks): a request body would have to be read whole before
     * the switch, and answering such a request over HTTP/1.1 is what the RFC allows. Off by default: browsers
     * never use it, and behind another proxy that forwards {@code Upgrade} it lets clients tunnel past that
     * proxy's rules ("h2c smuggling").
     */
    static final class H2cUpgrade implements ProtocolUpgrade {
        private final Supplier<HttpServices> services;
        private final ListenerConfig listener;

        H2cUpgrade(Supplier<HttpServices> services, ListenerConfig listener) {
            this.services = services;
            this.listener = listener;
        }

        @Override
        public Switch prepare(ChannelHandlerContext ctx, HttpRequest request) {
            var h = request.headers();
            if (!h.containsValue(HttpHeaderNames.UPGRADE, H2C, true)
                    || !h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
                    || !h.containsValue(HttpHeaderNames.CONNECTION, HTTP2_SETTINGS, true)) {
                return null;
            }
            List<String> values = h.getAll(HTTP2_SETTINGS);
            if (values.size() != 1) {
                return null;
            }
            Http2Settings settings = decodeSettings(values.getFirst());
            if (settings == null) {
                LOG.debug("ignoring Upgrade: h2c from {}: malformed HTTP2-Settings", ctx.channel().remoteAddress());
                return null;
            }
            return new Switch() {
                @Override
                public CharSequence protocol() {
                    return H2C;
                }

                @Override
                public void install(ChannelPipeline pipeline, String after) {
                    Http2FrameCodec codec = addHandlers(pipeline, after, services, listener, "http");
                    ChannelHandlerContext codecCtx = pipeline.context(codec);
                    try {
                        // Creates stream 1, half-closed (remote): the request is complete.
                        codec.onHttpServerUpgrade(settings);
                        codec.decoder().frameListener().onHeadersRead(codecCtx, Http2CodecUtil.HTTP_UPGRADE_STREAM_ID,
                                upgradedRequest(request), 0, true);
                    } catch (Http2Exception | RuntimeException e) {
                        LOG.debug("h2c upgrade from {} failed: {}", pipeline.channel().remoteAddress(), e.toString());
                        pipeline.channel().close();
                    }
                }
            };
        }

        /** The HTTP/1.1 request as HTTP/2 headers: connection-specific fields (Upgrade, HTTP2-Settings …) removed. */
        private static Http2Headers upgradedRequest(HttpRequest request) {
            // The conversion takes :scheme from this field (HTTP/1.1 has none) and does not copy the field itself.
            request.headers().set(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(), "http");
            return HttpConversionUtil.toHttp2Headers(request, false);
        }
    }

    /**
     * The HTTP2-Settings header: the payload of a SETTINGS frame in base64url without padding (RFC 7540
     * section 3.2.1), or null when it is not one.
     */
    static Http2Settings decodeSettings(String header) {
        byte[] payload;
        try {
            payload = Base64.getUrlDecoder().decode(header.strip());
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (payload.length % SETTING_LENGTH != 0) {
            return null;
        }
        Http2Settings settings = new Http2Settings();
        for (int i = 0; i < payload.length; i += SETTING_LENGTH) {
            char id = (char) (((payload[i] & 0xFF) << 8) | (payload[i + 1] & 0xFF));
            long value = ((payload[i + 2] & 0xFFL) << 24) | ((payload[i + 3] & 0xFFL) << 16)
                    | ((payload[i + 4] & 0xFFL) << 8) | (payload[i + 5] & 0xFFL);
            try {
                settings.put(id, Long.valueOf(value));
            } catch (IllegalArgumentException e) {
                return null; // a value out of its range (section 6.5.2)
            }
        }
        return settings;
    }
}
