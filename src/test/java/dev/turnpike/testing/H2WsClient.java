package dev.turnpike.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An RFC 8441 WebSocket client for tests (Netty has none): one HTTP/2 connection (Netty's frame codec and
 * multiplexer; h2c with prior knowledge, or TLS with ALPN "h2") on which each {@link #open} sends an extended
 * CONNECT on a new stream. Once answered 200, the stream's DATA carries WebSocket frames, run through Netty's
 * {@link WebSocket13FrameEncoder} (masked) and {@link WebSocket13FrameDecoder}; every frame received is recorded as a
 * {@link WsClient.Frame}. A close frame is answered with the same code unless {@link Ws#answerClose} is off; the
 * server's END_STREAM is answered with ours, as a client closes TCP after the server does on HTTP/1.1.
 */
public final class H2WsClient implements AutoCloseable {
    public final Channel connection;
    /** The server's first SETTINGS. */
    public final CompletableFuture<Http2Settings> serverSettings = new CompletableFuture<>();

    private H2WsClient(Channel connection) {
        this.connection = connection;
    }

    /** Cleartext HTTP/2 with prior knowledge. */
    public static H2WsClient connect(int port) throws Exception {
        return connect(port, null, null);
    }

    /** TLS with ALPN h2 (only), trusting {@code ca}, with {@code sni}. */
    public static H2WsClient connectTls(int port, java.security.cert.X509Certificate ca, String sni) throws Exception {
        SslContext tls = SslContextBuilder.forClient().trustManager(ca)
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2))
                .build();
        return connect(port, tls, sni);
    }

    private static H2WsClient connect(int port, SslContext tls, String sni) throws Exception {
        CompletableFuture<Http2Settings> settings = new CompletableFuture<>();
        Bootstrap b = new Bootstrap().group(WsClient.GROUP).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc(), sni, port));
                        }
                        Http2FrameCodec codec = Http2FrameCodecBuilder.forClient()
                                .initialSettings(Http2Settings.defaultSettings().initialWindowSize(1 << 20))
                                .validateHeaders(false) // it sends malformed heads on purpose
                                .build();
                        ch.pipeline().addLast(codec, new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()),
                                new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                        if (msg instanceof Http2SettingsFrame s) {
                                            settings.complete(s.settings());
                                        }
                                        io.netty.util.ReferenceCountUtil.release(msg);
                                    }
                                });
                    }
                });
        Channel ch = b.connect("127.0.0.1", port).sync().channel();
        if (tls != null) {
            ch.pipeline().get(SslHandler.class).handshakeFuture().sync();
            String alpn = ch.pipeline().get(SslHandler.class).applicationProtocol();
            if (!ApplicationProtocolNames.HTTP_2.equals(alpn)) {
                ch.close();
                throw new IllegalStateException("ALPN chose " + alpn);
            }
        }
        H2WsClient c = new H2WsClient(ch);
        settings.whenComplete((s, e) -> {
            if (s != null) {
                c.serverSettings.complete(s);
            }
        });
        return c;
    }

    /** The request head of a valid RFC 8441 handshake for {@code path}. */
    public static Http2Headers handshake(String path) {
        Http2Headers h = new DefaultHttp2Headers(false);
        h.method("CONNECT").scheme("http").path(path).authority("chat.test");
        h.set(Http2Headers.PseudoHeaderName.PROTOCOL.value(), "websocket");
        h.set("sec-websocket-version", "13");
        return h;
    }

    /** Opens a stream with {@code head} (not ended) and returns it once the response head or a reset arrived. */
    public Ws open(Http2Headers head) throws Exception {
        Ws ws = new Ws();
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(connection).handler(ws.handler).open().sync()
                .getNow();
        ws.stream = stream;
        stream.writeAndFlush(new DefaultHttp2HeadersFrame(head, false)).sync();
        CompletableFuture.anyOf(ws.response, ws.reset).get(10, TimeUnit.SECONDS);
        return ws;
    }

    /** Opens a WebSocket on {@code path} and checks that it was answered 200. */
    public Ws websocket(String path) throws Exception {
        Ws ws = open(handshake(path));
        Http2Headers r = ws.response.getNow(null);
        if (r == null || !"200".contentEquals(r.status())) {
            throw new AssertionError("handshake answered " + (r == null ? "with a reset " + ws.reset.getNow(null) : r));
        }
        return ws;
    }

    @Override
    public void close() {
        connection.close().syncUninterruptibly();
    }

    /** One stream: the response head, then the WebSocket frames received. */
    public static final class Ws {
        public final CompletableFuture<Http2Headers> response = new CompletableFuture<>();
        /** The error code of a RST_STREAM the server sent. */
        public final CompletableFuture<Long> reset = new CompletableFuture<>();
        /** The server ended its side of the stream (END_STREAM). */
        public final CompletableFuture<Void> serverEnded = new CompletableFuture<>();
        public final BlockingQueue<WsClient.Frame> frames = new LinkedBlockingQueue<>();
        /** Bytes of the response body when it was not a 200 (an error page). */
        public final java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        public volatile boolean answerClose = true;
        /** Data frames are only counted in {@link #dataBytes}, not kept (for floods). */
        public volatile boolean countOnly;
        public final AtomicLong dataBytes = new AtomicLong();
        public Http2StreamChannel stream;
        private boolean endSent;
        final StreamHandler handler = new StreamHandler();

        public Ws send(WebSocketFrame frame) {
            stream.writeAndFlush(frame).syncUninterruptibly();
            return this;
        }

        public Ws sendText(String text) {
            return send(new TextWebSocketFrame(text));
        }

        /** Ends our side of the stream (END_STREAM), as a TCP FIN would on HTTP/1.1. */
        public void endStream() {
            stream.eventLoop().submit(this::sendEnd).syncUninterruptibly();
        }

        private void sendEnd() {
            if (!endSent && stream.isActive()) {
                endSent = true;
                stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true));
            }
        }

        /** Stops reading: no more window is given to the server for this stream. */
        public void pauseReading(boolean paused) {
            stream.config().setAutoRead(!paused);
        }

        public WsClient.Frame next() throws InterruptedException {
            return next(10_000);
        }

        public WsClient.Frame next(long millis) throws InterruptedException {
            WsClient.Frame f = frames.poll(millis, TimeUnit.MILLISECONDS);
            if (f == null) {
                throw new AssertionError("no frame within " + millis + " ms");
            }
            return f;
        }

        /** Whether the stream closes (both sides ended, or reset) within {@code millis}. */
        public boolean awaitClosed(long millis) {
            return stream.closeFuture().awaitUninterruptibly(millis);
        }

        public String status() {
            Http2Headers r = response.getNow(null);
            return r == null ? null : r.status().toString();
        }

        final class StreamHandler extends ChannelDuplexHandler {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Http2HeadersFrame h) {
                    if (!response.isDone()) {
                        response.complete(h.headers());
                        if ("200".contentEquals(h.headers().status())) {
                            WebSocketDecoderConfig config = WebSocketDecoderConfig.newBuilder()
                                    .expectMaskedFrames(false).allowExtensions(true)
                                    .maxFramePayloadLength(64 * 1024 * 1024).build();
                            ctx.pipeline().addLast(new WebSocket13FrameDecoder(config),
                                    new WebSocket13FrameEncoder(true), new FrameCollector());
                        }
                    }
                    if (h.isEndStream()) {
                        serverEnded.complete(null);
                    }
                    return;
                }
                if (msg instanceof Http2DataFrame d) {
                    boolean end = d.isEndStream();
                    if (response.isDone() && "200".contentEquals(response.getNow(null).status())) {
                        ctx.fireChannelRead(d.content());
                    } else {
                        synchronized (body) {
                            body.writeBytes(ByteBufUtil.getBytes(d.content()));
                        }
                        d.release();
                    }
                    if (end) {
                        serverEnded.complete(null);
                        sendEnd(); // the server closed: so do we
                    }
                    return;
                }
                io.netty.util.ReferenceCountUtil.release(msg);
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof Http2ResetFrame r) {
                    reset.complete(r.errorCode());
                }
                io.netty.util.ReferenceCountUtil.release(evt);
            }

            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                if (msg instanceof ByteBuf buf) {
                    ctx.write(new DefaultHttp2DataFrame(buf, false), promise);
                } else {
                    ctx.write(msg, promise);
                }
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
            }
        }

        final class FrameCollector extends ChannelInboundHandlerAdapter {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                WebSocketFrame f = (WebSocketFrame) msg;
                try {
                    if (countOnly && (f instanceof BinaryWebSocketFrame || f instanceof ContinuationWebSocketFrame)) {
                        dataBytes.addAndGet(f.content().readableBytes());
                        return;
                    }
                    byte[] data = ByteBufUtil.getBytes(f.content());
                    String type = switch (f) {
                        case TextWebSocketFrame t -> "text";
                        case BinaryWebSocketFrame t -> "binary";
                        case ContinuationWebSocketFrame t -> "continuation";
                        case PingWebSocketFrame t -> "ping";
                        case PongWebSocketFrame t -> "pong";
                        case CloseWebSocketFrame t -> "close";
                        default -> "other";
                    };
                    int code = -1;
                    String reason = null;
                    if (f instanceof CloseWebSocketFrame c) {
                        code = c.statusCode();
                        reason = c.reasonText();
                        if (answerClose && ctx.channel().isActive()) {
                            ctx.writeAndFlush(new CloseWebSocketFrame(code < 0 ? 1000 : code, ""));
                        }
                    }
                    frames.add(new WsClient.Frame(type, f.isFinalFragment(), data, code, reason));
                } finally {
                    f.release();
                }
            }
        }
    }
}
