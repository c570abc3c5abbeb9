package dev.turnpike.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.util.concurrent.DefaultThreadFactory;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A real WebSocket client for tests, on Netty's own client handshaker and frame codec. Every frame received is
 * recorded as a {@link Frame} (copied, so tests need not release anything). A close frame is answered with the same
 * code, as RFC 6455 asks, unless {@link #answerClose} is turned off.
 */
public final class WsClient implements AutoCloseable {
    public static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(2,
            new DefaultThreadFactory("ws-test-client", true), NioIoHandler.newFactory());

    /** A received frame: its type, FIN bit, payload, and for a close frame its code and reason. */
    public record Frame(String type, boolean fin, byte[] data, int closeCode, String reason) {
        public String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    public final Channel channel;
    public final HttpResponse handshakeResponse;
    public final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    public volatile boolean answerClose = true;
    /** Data frames are only counted in {@link #dataBytes}, not kept (for floods). */
    public volatile boolean countOnly;
    public final java.util.concurrent.atomic.AtomicLong dataBytes = new java.util.concurrent.atomic.AtomicLong();

    private WsClient(Channel channel, HttpResponse response) {
        this.channel = channel;
        this.handshakeResponse = response;
    }

    public static WsClient connect(int port, String path) throws Exception {
        return connect(port, path, new DefaultHttpHeaders(), null);
    }

    /**
     * Opens a WebSocket through {@code port}; throws {@link WebSocketClientHandshakeException} (with the response)
     * when the answer is not a valid 101.
     */
    public static WsClient connect(int port, String path, HttpHeaders headers, String subprotocol) throws Exception {
        try {
            return connectAsync(port, path, headers, subprotocol).get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }

    public static CompletableFuture<WsClient> connectAsync(int port, String path, HttpHeaders headers, String subprotocol) {
        return connectAsync(port, path, headers, subprotocol, null, null);
    }

    /** Over TLS ({@code wss://}) with {@code tls}, sending {@code sni} as the server name. */
    public static WsClient connectTls(int port, String path, io.netty.handler.ssl.SslContext tls, String sni)
            throws Exception {
        return connectAsync(port, path, new DefaultHttpHeaders(), null, tls, sni).get(10, TimeUnit.SECONDS);
    }

    private static CompletableFuture<WsClient> connectAsync(int port, String path, HttpHeaders headers,
                                                            String subprotocol, io.netty.handler.ssl.SslContext tls,
                                                            String sni) {
        CompletableFuture<WsClient> done = new CompletableFuture<>();
        WebSocketClientHandshaker handshaker = WebSocketClientHandshakerFactory.newHandshaker(
                URI.create((tls == null ? "ws://127.0.0.1:" : "wss://" + sni + ":") + port + path),
                WebSocketVersion.V13, subprotocol, true, headers, 64 * 1024 * 1024);
        Handler handler = new Handler(handshaker, done);
        Bootstrap b = new Bootstrap().group(GROUP).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc(), sni, port));
                        }
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(1 << 20), handler);
                    }
                });
        b.connect("127.0.0.1", port).addListener((io.netty.channel.ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                done.completeExceptionally(f.cause());
                return;
            }
            f.channel().closeFuture().addListener(c ->
                    done.completeExceptionally(new java.io.IOException("closed in the handshake")));
        });
        return done;
    }

    private static final class Handler extends SimpleChannelInboundHandler<Object> {
        private final WebSocketClientHandshaker handshaker;
        private final CompletableFuture<WsClient> done;
        private WsClient client;

        Handler(WebSocketClientHandshaker handshaker, CompletableFuture<WsClient> done) {
            this.handshaker = handshaker;
            this.done = done;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // a reset after a failed connection is expected; the test sees the close
            ctx.close();
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            handshaker.handshake(ctx.channel());
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
            if (client == null) {
                FullHttpResponse r = (FullHttpResponse) msg;
                try {
                    handshaker.finishHandshake(ctx.channel(), r);
                    client = new WsClient(ctx.channel(),
                            new DefaultHttpResponse(r.protocolVersion(), r.status(), r.headers().copy()));
                    done.complete(client);
                } catch (WebSocketClientHandshakeException e) {
                    done.completeExceptionally(e);
                    ctx.close();
                }
                return;
            }
            WebSocketFrame f = (WebSocketFrame) msg;
            if (client.countOnly && (f instanceof BinaryWebSocketFrame || f instanceof ContinuationWebSocketFrame)) {
                client.dataBytes.addAndGet(f.content().readableBytes());
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
                if (client.answerClose && ctx.channel().isActive()) {
                    ctx.writeAndFlush(new CloseWebSocketFrame(code < 0 ? 1000 : code, ""));
                }
            }
            client.frames.add(new Frame(type, f.isFinalFragment(), data, code, reason));
        }
    }

    public WsClient send(WebSocketFrame frame) {
        channel.writeAndFlush(frame).syncUninterruptibly();
        return this;
    }

    public WsClient sendText(String text) {
        return send(new TextWebSocketFrame(text));
    }

    /** The next frame, or an AssertionError after 10 s. */
    public Frame next() throws InterruptedException {
        return next(10_000);
    }

    public Frame next(long millis) throws InterruptedException {
        Frame f = frames.poll(millis, TimeUnit.MILLISECONDS);
        if (f == null) {
            throw new AssertionError("no frame within " + millis + " ms");
        }
        return f;
    }

    /** The next frame that is not a ping or pong. */
    public Frame nextData() throws InterruptedException {
        for (;;) {
            Frame f = next();
            if (!f.type().equals("ping") && !f.type().equals("pong")) {
                return f;
            }
        }
    }

    /** Whether the connection closes within {@code millis}. */
    public boolean awaitClosed(long millis) {
        return channel.closeFuture().awaitUninterruptibly(millis);
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}
