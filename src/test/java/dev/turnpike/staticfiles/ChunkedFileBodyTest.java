package dev.turnpike.staticfiles;

import dev.turnpike.accesslog.AccessLog;
import dev.turnpike.config.HandlerConfig;
import dev.turnpike.config.ListenerConfig;
import dev.turnpike.handler.HandlerContext;
import dev.turnpike.http.ErrorResponder;
import dev.turnpike.http.HttpServices;
import dev.turnpike.http1.Http1ServerHandler;
import dev.turnpike.testing.RawClient;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.AsciiString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The non-zero-copy body path (ChunkedNioFile through the ChunkedWriteHandler, as used on TLS and HTTP/2): the
 * real HTTP/1.1 pipeline installed with zeroCopy = false on a plain Netty server.
 */
class ChunkedFileBodyTest {
    @TempDir
    static Path tmp;

    static StaticFixture fx;
    static EventLoopGroup group;
    static ExecutorService blocking;
    static Channel serverChannel;
    static StaticFileHandler handler;
    static int port;
    static String bigDigest;
    static final long BIG = 16L * 1024 * 1024 + 12345;

    @BeforeAll
    static void start() throws Exception {
        fx = new StaticFixture(tmp);
        bigDigest = StaticFixture.writeRandom(fx.publicDir.resolve("big.bin"), BIG);
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        blocking = Executors.newFixedThreadPool(2);
        handler = new StaticFileHandler(new HandlerConfig.Static(fx.publicDir.toRealPath(), List.of("index.html"),
                Optional.empty(), HandlerConfig.Static.Listing.OFF, false, true, Optional.empty(), Optional.empty()),
                new HandlerContext(NioSocketChannel.class, blocking));
        HttpServices services = new HttpServices(handler::handle, new ErrorResponder(), AccessLog.NONE, null,
                AsciiString.cached("x-request-id"), List.of());
        ListenerConfig listener = new ListenerConfig("chunked", "127.0.0.1", 0, ListenerConfig.Limits.defaults(),
                ListenerConfig.Timeouts.defaults(), null);
        serverChannel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        Http1ServerHandler.install(ch, () -> services, listener, "http", false);
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
        port = ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    @AfterAll
    static void stop() throws Exception {
        if (serverChannel != null) {
            serverChannel.close().sync();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        }
        if (blocking != null) {
            blocking.shutdownNow();
        }
        if (handler != null) {
            handler.close();
        }
    }

    static RawClient.Response get(String target, String... headers) throws Exception {
        try (RawClient c = RawClient.connect(port)) {
            StringBuilder sb = new StringBuilder("GET ").append(target).append(" HTTP/1.1\r\nHost: t\r\n");
            for (String h : headers) {
                sb.append(h).append("\r\n");
            }
            c.send(sb.append("Connection: close\r\n\r\n").toString());
            return c.read();
        }
    }

    @Test
    void wholeLargeFileIsIntact() throws Exception {
        RawClient.Response r = get("/big.bin");
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("content-length")).isEqualTo(String.valueOf(BIG));
        assertThat(r.header("transfer-encoding")).isNull();
        assertThat(r.body).hasSize((int) BIG);
        MessageDigest md = StaticFixture.sha256();
        assertThat(HexFormat.of().formatHex(md.digest(r.body))).isEqualTo(bigDigest);
    }

    @Test
    void smallFilesRangesAndMultipart() throws Exception {
        assertThat(get("/hello.txt").bodyText()).isEqualTo(StaticFixture.HELLO);
        assertThat(get("/empty.txt").body).isEmpty();
        RawClient.Response single = get("/digits.txt", "Range: bytes=3-5");
        assertThat(single.status).isEqualTo(206);
        assertThat(single.bodyText()).isEqualTo("345");

        RawClient.Response multi = get("/digits.txt", "Range: bytes=0-1,-2");
        assertThat(multi.status).isEqualTo(206);
        String ct = multi.header("content-type");
        List<String[]> parts = StaticFileServingTest.parseMultipart(multi.bodyText(), ct.substring(ct.indexOf('=') + 1));
        assertThat(parts).hasSize(2);
        assertThat(parts.get(0)).containsExactly("bytes 0-1/20", "01");
        assertThat(parts.get(1)).containsExactly("bytes 18-19/20", "ij");
        assertThat(multi.header("content-length")).isEqualTo(String.valueOf(multi.body.length));

        RawClient.Response br = get("/app.js", "Accept-Encoding: br");
        assertThat(br.bodyText()).isEqualTo(StaticFixture.JS_BR);
    }

    @Test
    void keepAliveAfterChunkedBodies() throws Exception {
        try (RawClient c = RawClient.connect(port)) {
            c.send("GET /digits.txt HTTP/1.1\r\nHost: t\r\n\r\nHEAD /big.bin HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "GET /digits.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=0-0,5-5\r\n\r\n"
                    + "GET /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            assertThat(c.read().bodyText()).isEqualTo(StaticFixture.DIGITS);
            RawClient.Response head = c.readHead();
            assertThat(head.header("content-length")).isEqualTo(String.valueOf(BIG));
            assertThat(c.read().status).isEqualTo(206);
            assertThat(c.read().bodyText()).isEqualTo(StaticFixture.HELLO);
        }
    }

    @Test
    void abortedDownloadsReleaseTheirFiles() throws Exception {
        for (int i = 0; i < 20; i++) {
            try (RawClient c = RawClient.connect(port)) {
                c.socket().setSoLinger(true, 0);
                c.send("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
                c.socket().getInputStream().read(new byte[4096]);
            }
        }
        assertThat(get("/hello.txt").status).isEqualTo(200);
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (openBigFiles() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(openBigFiles()).isZero();
    }

    private static long openBigFiles() throws Exception {
        Path big = fx.publicDir.resolve("big.bin").toRealPath();
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.filter(p -> {
                try {
                    return Files.readSymbolicLink(p).equals(big);
                } catch (Exception e) {
                    return false;
                }
            }).count();
        }
    }
}
