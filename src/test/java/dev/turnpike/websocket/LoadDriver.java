package dev.turnpike.websocket;

import dev.turnpike.testing.WsClient;
import dev.turnpike.testing.WsUpstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The load side of {@link LongLivedMemoryIT}, run in a JVM of its own so that the test JVM holds only Turnpike (its
 * heap is what is measured) and each process stays within its file-descriptor limit. It starts an upstream, prints
 * {@code UPSTREAM <port>}, then obeys lines on stdin:
 * <ul>
 *   <li>{@code open <port> <n>}: opens {@code n} WebSockets ({@code ws} mode) or {@code n} long polls that the
 *       upstream holds ({@code poll} mode) through Turnpike at {@code port}; prints {@code OPEN <n> <millis>} once
 *       every one is established (a 101 received / the request received by the upstream);</li>
 *   <li>{@code exit}: closes everything and exits.</li>
 * </ul>
 */
public final class LoadDriver {
    private static final ChannelGroup CLIENTS = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private static final AtomicInteger HELD = new AtomicInteger();

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        int upstreamPort = mode.equals("ws") ? WsUpstream.start("load").port() : pollUpstream();
        System.out.println("UPSTREAM " + upstreamPort);
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.trim().split(" ");
            if (w[0].equals("open")) {
                int port = Integer.parseInt(w[1]);
                int n = Integer.parseInt(w[2]);
                long start = System.nanoTime();
                if (mode.equals("ws")) {
                    openWebSockets(port, n);
                } else {
                    openPolls(port, n);
                }
                System.out.println("OPEN " + n + " " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                System.out.flush();
            } else if (w[0].equals("exit")) {
                break;
            }
        }
        CLIENTS.close().awaitUninterruptibly();
        System.exit(0);
    }

    /** At most this many handshakes or requests in progress at once: a burst, not a SYN flood. */
    private static final int CONCURRENCY = 256;

    private static void openWebSockets(int port, int n) throws Exception {
        Semaphore window = new Semaphore(CONCURRENCY);
        List<CompletableFuture<WsClient>> all = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            window.acquire();
            CompletableFuture<WsClient> f = WsClient.connectAsync(port, "/ws", new DefaultHttpHeaders(), null);
            f.whenComplete((c, e) -> {
                window.release();
                if (c != null) {
                    CLIENTS.add(c.channel);
                }
            });
            all.add(f);
        }
        for (CompletableFuture<WsClient> f : all) {
            f.get(60, TimeUnit.SECONDS);
        }
    }

    /** An upstream that reads requests and never answers them (until the connection closes). */
    private static int pollUpstream() throws InterruptedException {
        Channel server = new ServerBootstrap().group(WsUpstream.GROUP).channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 8192)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        CLIENTS.add(ch);
                        ch.pipeline().addLast(new HttpServerCodec(), new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (msg instanceof HttpRequest) {
                                    HELD.incrementAndGet();
                                }
                                ReferenceCountUtil.release(msg);
                            }
                        });
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    private static void openPolls(int port, int n) throws Exception {
        int before = HELD.get();
        Bootstrap b = new Bootstrap().group(WsClient.GROUP).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), new SimpleChannelInboundHandler<HttpObject>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
                                if (msg instanceof LastHttpContent) {
                                    System.err.println("a long poll was answered: " + msg);
                                }
                            }
                        });
                    }
                });
        for (int i = 0; i < n; i++) {
            b.connect("127.0.0.1", port).addListener((io.netty.channel.ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    System.err.println("connect failed: " + f.cause());
                    return;
                }
                CLIENTS.add(f.channel());
                DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET,
                        "/poll?cursor=42");
                req.headers().set(HttpHeaderNames.HOST, "api.test");
                f.channel().writeAndFlush(req);
            });
            // at most CONCURRENCY polls on their way: the next waits until the upstream received enough
            while (i + 1 - (HELD.get() - before) > CONCURRENCY) {
                Thread.sleep(1);
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (HELD.get() - before < n) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("only " + (HELD.get() - before) + " of " + n + " polls arrived");
            }
            Thread.sleep(5);
        }
    }
}
