package dev.turnpike.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A WebSocket server for tests, on Netty's {@link WebSocketServerProtocolHandler} (which answers pings and close
 * frames itself). It echoes every data frame as it came (fragments stay fragments), and obeys a few text commands:
 * {@code name?} answers its name, {@code close:CODE} makes it start a close handshake with that code,
 * {@code flood:MIB} sends that many MiB as fast as the connection takes them, {@code stall} stops reading. Below {@code /ws}
 * it upgrades; {@code /deny} answers 403, {@code /bad-accept} answers a 101 with a wrong accept; anything else 404.
 */
public final class WsUpstream implements AutoCloseable {
    public static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(2,
            new DefaultThreadFactory("ws-test-upstream", true), NioIoHandler.newFactory());

    public final String name;
    private final Channel server;
    /** TCP connections accepted, WebSockets established, and the handshake requests' headers. */
    public final AtomicInteger connections = new AtomicInteger();
    public final AtomicInteger upgrades = new AtomicInteger();
    public final List<HttpHeaders> handshakes = new CopyOnWriteArrayList<>();
    /** The codes of the close frames received from clients (through Turnpike). */
    public final List<Integer> closeCodes = new CopyOnWriteArrayList<>();
    public final ChannelGroup open = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

    private WsUpstream(String name, String subprotocols) throws InterruptedException {
        this.name = name;
        WebSocketServerProtocolConfig config = WebSocketServerProtocolConfig.newBuilder()
                .websocketPath("/ws").checkStartsWith(true).subprotocols(subprotocols)
                .allowExtensions(true).maxFramePayloadLength(64 * 1024 * 1024)
                .sendCloseFrame(null) // closing the channel is a crash: no close frame
                .build();
        server = new ServerBootstrap().group(GROUP).channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 8192)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.incrementAndGet();
                        open.add(ch);
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(65536),
                                new Gate(), new WebSocketServerProtocolHandler(config), new Echo());
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
    }

    public static WsUpstream start(String name) throws InterruptedException {
        return new WsUpstream(name, "chat, superchat");
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    public String address() {
        return "127.0.0.1:" + port();
    }

    /** Stops listening and closes every connection with a FIN, without a close frame (a crash or restart). */
    public void kill() {
        server.close().syncUninterruptibly();
        open.close().awaitUninterruptibly();
    }

    /** As {@link #kill}, but the connections are reset (RST), as when the process dies with unread data. */
    public void reset() {
        server.close().syncUninterruptibly();
        for (Channel ch : open) {
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
        }
        open.close().awaitUninterruptibly();
    }

    @Override
    public void close() {
        kill();
    }

    /**
     * Records handshakes and answers the special paths before Netty's handshake handler sees them; after the upgrade
     * it records the close frames that come in.
     */
    private final class Gate extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof FullHttpRequest req)) {
                if (msg instanceof CloseWebSocketFrame close) {
                    closeCodes.add(close.statusCode());
                }
                ctx.fireChannelRead(msg);
                return;
            }
            handshakes.add(req.headers().copy());
            String path = req.uri();
            if (path.startsWith("/ws")) {
                ctx.fireChannelRead(msg);
                return;
            }
            FullHttpResponse r;
            if (path.startsWith("/bad-accept")) {
                r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
                r.headers().set(HttpHeaderNames.UPGRADE, "websocket").set(HttpHeaderNames.CONNECTION, "Upgrade")
                        .set(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT, "c29tZXRoaW5nIGVsc2U=");
            } else {
                boolean deny = path.startsWith("/deny");
                byte[] body = (deny ? "denied by " + name : "no websocket here").getBytes(StandardCharsets.UTF_8);
                r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                        deny ? HttpResponseStatus.FORBIDDEN : HttpResponseStatus.NOT_FOUND, Unpooled.wrappedBuffer(body));
                r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length).set("X-Who", name);
            }
            ReferenceCountUtil.release(msg);
            ctx.writeAndFlush(r);
        }
    }

    /** Bytes of flood frames whose write completed (handed to the kernel), for back-pressure tests. */
    public final java.util.concurrent.atomic.AtomicLong floodWritten = new java.util.concurrent.atomic.AtomicLong();

    /** Sends {@code bytes} in 64 KiB binary frames as fast as the connection takes them (writability). */
    private void flood(ChannelHandlerContext ctx, long bytes) {
        long left = bytes;
        while (left > 0 && ctx.channel().isWritable()) {
            int n = (int) Math.min(left, 64 * 1024);
            left -= n;
            ctx.writeAndFlush(new io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame(
                    Unpooled.wrappedBuffer(new byte[n]))).addListener(f -> {
                        if (f.isSuccess()) {
                            floodWritten.addAndGet(n);
                        }
                    });
        }
        if (left > 0) {
            long rest = left;
            ctx.channel().pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelWritabilityChanged(ChannelHandlerContext c) {
                    if (c.channel().isWritable()) {
                        c.pipeline().remove(this);
                        flood(ctx, rest);
                    }
                    c.fireChannelWritabilityChanged();
                }
            });
        }
    }

    private final class Echo extends SimpleChannelInboundHandler<WebSocketFrame> {
        Echo() {
            super(false);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete) {
                upgrades.incrementAndGet();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // a reset after a failed connection is expected; the test sees the close
            ctx.close();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
            if (frame instanceof TextWebSocketFrame t && t.isFinalFragment()) {
                String text = t.text();
                if (text.equals("name?")) {
                    t.release();
                    ctx.writeAndFlush(new TextWebSocketFrame(name));
                    return;
                }
                if (text.startsWith("flood:")) {
                    t.release();
                    flood(ctx, Long.parseLong(text.substring(6)) * 1024 * 1024);
                    return;
                }
                if (text.equals("stall")) {
                    t.release();
                    ctx.channel().config().setAutoRead(false); // reads nothing more: the client's writes back up
                    return;
                }
                if (text.startsWith("close:")) {
                    t.release();
                    ctx.writeAndFlush(new CloseWebSocketFrame(Integer.parseInt(text.substring(6)), "bye from " + name));
                    return;
                }
            }
            if (frame instanceof CloseWebSocketFrame) {
                // Only reached when the protocol handler already sent its own: the client's answer to ours.
                frame.release();
                ctx.close();
                return;
            }
            ctx.writeAndFlush(frame).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
        }
    }
}
