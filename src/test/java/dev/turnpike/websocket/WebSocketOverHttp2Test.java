package dev.turnpike.websocket;

import dev.turnpike.testing.H2WsClient;
import dev.turnpike.testing.TestServer;
import dev.turnpike.testing.WsClient;
import dev.turnpike.testing.WsUpstream;
import dev.turnpike.tls.TestPki;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

/**
 * WebSockets over HTTP/2 (RFC 8441 extended CONNECT) from a real HTTP/2 client ({@link H2WsClient}, Netty's frame
 * codec with its WebSocket codec over the stream's DATA) through Turnpike to a real HTTP/1.1 WebSocket server:
 * the handshake both sides see, messages of every kind both ways, close handshakes, how Turnpike ends tunnels
 * itself, handshakes refused before any upstream sees them, back-pressure, and TLS with ALPN h2.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WebSocketOverHttp2Test {
    private static final long MIB = 1024 * 1024;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closeables);
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private WsUpstream upstream(String name) throws Exception {
        WsUpstream u = WsUpstream.start(name);
        closeables.add(u);
        return u;
    }

    private TestServer turnpike(String listener, String websocket, WsUpstream... upstreams) throws Exception {
        return turnpike(listener, websocket, "off", upstreams);
    }

    private TestServer turnpike(String listener, String websocket, String accessLog, WsUpstream... upstreams)
            throws Exception {
        String endpoints = String.join(", ", Arrays.stream(upstreams).map(WsUpstream::address).toList());
        String yaml = listener
                + "server: {event_loops: 1}\n"
                + "access_log: " + accessLog + "\n"
                + "clusters:\n"
                + "  chat:\n"
                + "    endpoints: [" + endpoints + "]\n"
                + "sites:\n"
                + "  - routes:\n"
                + "      - {path: /fixed, respond: \"not a tunnel\"}\n"
                + "      - {path: /plain/*, proxy: {cluster: chat, websocket: false}}\n"
                + "      - path: /*\n"
                + "        proxy: {cluster: chat" + (websocket.isEmpty() ? "" : ", websocket: " + websocket) + "}\n";
        TestServer s = TestServer.start(yaml, dir);
        closeables.add(s);
        return s;
    }

    private TestServer turnpike(WsUpstream... upstreams) throws Exception {
        return turnpike("listen: \"127.0.0.1:0\"\n", "", upstreams);
    }

    private H2WsClient client(TestServer s) throws Exception {
        H2WsClient c = H2WsClient.connect(s.port());
        closeables.add(c);
        return c;
    }

    static void await(java.util.function.BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met in time");
            }
            Thread.sleep(10);
        }
    }

    // ---- the handshake ------------------------------------------------------------------------------------------

    @Test
    void settingsAdvertiseExtendedConnect() throws Exception {
        H2WsClient c = client(turnpike(upstream("a")));
        assertThat(c.serverSettings.get(10, TimeUnit.SECONDS).connectProtocolEnabled()).isTrue();
    }

    @Test
    void theClientGets200AndTheUpstreamAnHttp11UpgradeWithAKeyOfItsOwn() throws Exception {
        WsUpstream up = upstream("a");
        H2WsClient c = client(turnpike(up));
        Http2Headers head = H2WsClient.handshake("/ws/room?x=1");
        head.set("sec-websocket-protocol", "superchat, chat");
        head.set("origin", "https://chat.test");
        H2WsClient.Ws ws = c.open(head);

        Http2Headers r = ws.response.get();
        assertThat(r.status().toString()).isEqualTo("200");
        assertThat(r.get("sec-websocket-protocol")).hasToString("superchat");
        assertThat(r.contains("sec-websocket-accept")).isFalse();
        assertThat(r.contains("upgrade")).isFalse();
        assertThat(r.contains("connection")).isFalse();
        assertThat(ws.serverEnded).isNotDone();

        assertThat(up.handshakes).hasSize(1);
        HttpHeaders h = up.handshakes.getFirst();
        assertThat(h.get("upgrade")).isEqualToIgnoringCase("websocket");
        assertThat(h.get("connection")).isEqualToIgnoringCase("upgrade");
        assertThat(h.get("sec-websocket-version")).isEqualTo("13");
        assertThat(Base64.getDecoder().decode(h.get("sec-websocket-key"))).hasSize(16);
        assertThat(h.get("sec-websocket-protocol")).isEqualTo("superchat, chat");
        assertThat(h.get("origin")).isEqualTo("https://chat.test");
        assertThat(h.get("x-forwarded-proto")).isEqualTo("http");
        assertThat(h.names()).noneMatch(n -> n.toLowerCase().startsWith("x-http2"));

        ws.sendText("name?");
        assertThat(ws.next().text()).isEqualTo("a");
    }

    @Test
    void eachHandshakeGetsAFreshKey() throws Exception {
        WsUpstream up = upstream("a");
        H2WsClient c = client(turnpike(up));
        c.websocket("/ws");
        c.websocket("/ws");
        assertThat(up.handshakes).extracting(h -> h.get("sec-websocket-key")).doesNotHaveDuplicates().hasSize(2);
    }

    @Test
    void badHandshakesAreRefusedBeforeTheUpstream() throws Exception {
        WsUpstream up = upstream("a");
        H2WsClient c = client(turnpike(up));

        Http2Headers noVersion = H2WsClient.handshake("/ws");
        noVersion.remove("sec-websocket-version");
        H2WsClient.Ws ws = c.open(noVersion);
        assertThat(ws.status()).isEqualTo("426");
        assertThat(ws.response.get().get("sec-websocket-version")).hasToString("13");

        Http2Headers wrongVersion = H2WsClient.handshake("/ws");
        wrongVersion.set("sec-websocket-version", "8");
        assertThat(c.open(wrongVersion).status()).isEqualTo("426");

        Http2Headers withKey = H2WsClient.handshake("/ws");
        withKey.set("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
        assertThat(c.open(withKey).status()).isEqualTo("400");

        Http2Headers protocolOnGet = H2WsClient.handshake("/ws");
        protocolOnGet.method("GET");
        ws = c.open(protocolOnGet);
        assertThat(ws.reset.get(10, TimeUnit.SECONDS)).isEqualTo(Http2Error.PROTOCOL_ERROR.code());

        Http2Headers noAuthority = H2WsClient.handshake("/ws");
        noAuthority.remove(":authority");
        ws = c.open(noAuthority);
        assertThat(ws.reset.get(10, TimeUnit.SECONDS)).isEqualTo(Http2Error.PROTOCOL_ERROR.code());

        Http2Headers plainConnect = H2WsClient.handshake("/ws");
        plainConnect.remove(":protocol");
        plainConnect.remove(":path");
        plainConnect.remove(":scheme");
        assertThat(c.open(plainConnect).status()).isEqualTo("405");

        Http2Headers otherProtocol = H2WsClient.handshake("/ws");
        otherProtocol.set(":protocol", "connect-udp");
        assertThat(c.open(otherProtocol).status()).isEqualTo("501");

        assertThat(c.open(H2WsClient.handshake("/plain/ws")).status())
                .as("a route with websocket: false").isEqualTo("501");
        assertThat(c.open(H2WsClient.handshake("/fixed")).status())
                .as("a handler that answers 200 without a tunnel").isEqualTo("501");

        assertThat(up.handshakes).as("no refused handshake reached the upstream").isEmpty();
        assertThat(up.connections.get()).isZero();
        // the connection is fine after all that
        assertThat(c.websocket("/ws").status()).isEqualTo("200");
    }

    @Test
    void originAllowListAndLimitsApplyAsOverHttp11() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("listen: \"127.0.0.1:0\"\n",
                "{allowed_origins: [\"https://chat.test\"], max_connections_per_client: 1}", up);
        H2WsClient c = client(s);
        Http2Headers evil = H2WsClient.handshake("/ws");
        evil.set("origin", "https://evil.test");
        assertThat(c.open(evil).status()).isEqualTo("403");

        H2WsClient.Ws first = c.websocket("/ws");
        H2WsClient.Ws second = c.open(H2WsClient.handshake("/ws"));
        assertThat(second.status()).isEqualTo("429");
        assertThat(up.handshakes).hasSize(1);
        first.sendText("hi");
        assertThat(first.next().text()).isEqualTo("hi");
    }

    @Test
    void theAccessLogHasOneEntryWrittenWhenTheTunnelEnds() throws Exception {
        Path log = dir.resolve("access.log");
        WsUpstream up = upstream("a");
        TestServer s = turnpike("listen: \"127.0.0.1:0\"\n", "", "{format: json, output: \"" + log + "\"}", up);
        H2WsClient c = client(s);
        H2WsClient.Ws ws = c.websocket("/ws");
        ws.sendText("hello");
        assertThat(ws.next().text()).isEqualTo("hello");
        Thread.sleep(300);
        assertThat(java.nio.file.Files.exists(log) ? java.nio.file.Files.readString(log) : "")
                .as("nothing is logged while the tunnel is open").isEmpty();
        ws.send(new CloseWebSocketFrame(1000, ""));
        assertThat(ws.awaitClosed(5000)).isTrue();
        await(() -> {
            try {
                return java.nio.file.Files.exists(log) && !java.nio.file.Files.readString(log).isEmpty();
            } catch (java.io.IOException e) {
                return false;
            }
        });
        Thread.sleep(200);
        String text = java.nio.file.Files.readString(log);
        assertThat(text.lines()).hasSize(1);
        // logged as the switch it is (101), as on HTTP/1.1, so that WebSockets count alike whatever the protocol
        assertThat(text).contains("\"status\":101").contains("\"method\":\"CONNECT\"")
                .contains("\"protocol\":\"HTTP/2.0\"").contains("\"target\":\"/ws\"")
                .contains("\"bytes_sent\":11"); // "hello" and the close frame, as on HTTP/1.1
    }

    // ---- messages -------------------------------------------------------------------------------------------------

    @Test
    void textBinaryFragmentedAnd16MiBMessagesPassBothWays() throws Exception {
        H2WsClient c = client(turnpike(upstream("a")));
        H2WsClient.Ws ws = c.websocket("/ws");

        ws.sendText("hello");
        WsClient.Frame f = ws.next();
        assertThat(f.type()).isEqualTo("text");
        assertThat(f.text()).isEqualTo("hello");

        byte[] bin = new byte[3000];
        new Random(1).nextBytes(bin);
        ws.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(bin)));
        f = ws.next();
        assertThat(f.type()).isEqualTo("binary");
        assertThat(f.data()).isEqualTo(bin);

        ws.send(new TextWebSocketFrame(false, 0, "frag"));
        ws.send(new ContinuationWebSocketFrame(false, 0, "men"));
        ws.send(new ContinuationWebSocketFrame(true, 0, "ted"));
        assertThat(List.of(ws.next(), ws.next(), ws.next()))
                .extracting(WsClient.Frame::type, WsClient.Frame::fin, WsClient.Frame::text)
                .containsExactly(tuple("text", false, "frag"), tuple("continuation", false, "men"),
                        tuple("continuation", true, "ted"));

        // 16 MiB up in one frame, and back down in one (the upstream echoes it): many DATA frames and windows each way
        byte[] big = new byte[16 * 1024 * 1024];
        new Random(2).nextBytes(big);
        ws.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(big)));
        f = ws.next(60_000);
        assertThat(f.type()).isEqualTo("binary");
        assertThat(f.data()).isEqualTo(big);
    }

    @Test
    void pingIsAnsweredByTheUpstreamWithPong() throws Exception {
        H2WsClient c = client(turnpike(upstream("a")));
        H2WsClient.Ws ws = c.websocket("/ws");
        ws.send(new PingWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {1, 2, 3})));
        WsClient.Frame f = ws.next();
        assertThat(f.type()).isEqualTo("pong");
        assertThat(f.data()).containsExactly(1, 2, 3);
    }

    @Test
    void manyWebSocketsShareOneConnection() throws Exception {
        H2WsClient c = client(turnpike(upstream("a")));
        List<H2WsClient.Ws> all = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            all.add(c.websocket("/ws"));
        }
        for (int i = 0; i < all.size(); i++) {
            all.get(i).sendText("n" + i);
        }
        for (int i = 0; i < all.size(); i++) {
            assertThat(all.get(i).next().text()).isEqualTo("n" + i);
        }
    }

    // ---- ending ---------------------------------------------------------------------------------------------------

    @Test
    void clientInitiatedCloseHandshakeCarriesTheCodeAndEndsTheStream() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike(up);
        H2WsClient c = client(s);
        H2WsClient.Ws ws = c.websocket("/ws");
        ws.send(new CloseWebSocketFrame(4000, "done"));
        WsClient.Frame f = ws.next();
        assertThat(f.type()).isEqualTo("close");
        assertThat(f.closeCode()).isEqualTo(4000);
        assertThat(ws.serverEnded.get(5, TimeUnit.SECONDS)).isNull();
        assertThat(ws.awaitClosed(5000)).isTrue();
        assertThat(ws.reset).as("a clean end, not a reset").isNotDone();
        await(() -> up.closeCodes.contains(4000));
        await(() -> up.open.isEmpty());
        ClusterCounts.assertSettled(s, "chat");
        assertThat(c.connection.isActive()).as("the connection outlives the stream").isTrue();
    }

    @Test
    void upstreamInitiatedCloseHandshakeCarriesTheCode() throws Exception {
        WsUpstream up = upstream("a");
        H2WsClient c = client(turnpike(up));
        H2WsClient.Ws ws = c.websocket("/ws");
        ws.sendText("close:4001");
        WsClient.Frame f = ws.next();
        assertThat(f.type()).isEqualTo("close");
        assertThat(f.closeCode()).isEqualTo(4001);
        assertThat(ws.awaitClosed(5000)).isTrue();
        assertThat(ws.reset).isNotDone();
        await(() -> up.closeCodes.contains(4001)); // the client's reply
    }

    @Test
    void aClientThatEndsItsStreamWithoutACloseFrameIsReportedToTheUpstreamWith1001() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike(up);
        H2WsClient c = client(s);
        H2WsClient.Ws ws = c.websocket("/ws");
        ws.sendText("hi");
        assertThat(ws.next().text()).isEqualTo("hi");
        ws.endStream();
        await(() -> up.closeCodes.contains(1001));
        WsClient.Frame f = ws.next(); // the upstream's reply still reaches the client, which is still reading
        assertThat(f.type()).isEqualTo("close");
        assertThat(ws.awaitClosed(5000)).isTrue();
        await(() -> up.open.isEmpty());
        ClusterCounts.assertSettled(s, "chat");
    }

    @Test
    void aClientThatResetsItsStreamIsReportedToTheUpstreamWith1001() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike(up);
        H2WsClient c = client(s);
        H2WsClient.Ws ws = c.websocket("/ws");
        ws.sendText("hi");
        assertThat(ws.next().text()).isEqualTo("hi");
        ws.stream.close().sync(); // RST_STREAM(CANCEL)
        await(() -> up.closeCodes.contains(1001));
        await(() -> up.open.isEmpty());
        ClusterCounts.assertSettled(s, "chat");
    }

    @Test
    void anUpstreamThatGoesAwayGets1012AndOneThatFailsGets1011() throws Exception {
        WsUpstream a = upstream("a");
        H2WsClient c = client(turnpike(a));
        H2WsClient.Ws ws = c.websocket("/ws");
        ws.sendText("hi");
        assertThat(ws.next().text()).isEqualTo("hi");
        a.kill();
        WsClient.Frame f = ws.next(5000);
        assertThat(f.type()).isEqualTo("close");
        assertThat(f.closeCode()).isEqualTo(1012);
        assertThat(ws.awaitClosed(5000)).isTrue();

        WsUpstream b = upstream("b");
        TestServer s2 = turnpike(b);
        H2WsClient c2 = client(s2);
        H2WsClient.Ws ws2 = c2.websocket("/ws");
        ws2.sendText("hi");
        assertThat(ws2.next().text()).isEqualTo("hi");
        b.reset();
        f = ws2.next(5000);
        assertThat(f.closeCode()).isEqualTo(1011);
        assertThat(ws2.awaitClosed(5000)).isTrue();
        ClusterCounts.assertSettled(s2, "chat");
    }

    @Test
    void shutdownSends1001ThenGoAway() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike(up);
        H2WsClient c = client(s);
        H2WsClient.Ws ws = c.websocket("/ws");
        ws.sendText("hi");
        assertThat(ws.next().text()).isEqualTo("hi");
        long start = System.nanoTime();
        s.shutdown(Duration.ofSeconds(10));
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start))
                .as("the close handshake ends the tunnel long before the deadline").isLessThan(5000);
        WsClient.Frame f = ws.next(1000);
        assertThat(f.type()).isEqualTo("close");
        assertThat(f.closeCode()).isEqualTo(1001);
        assertThat(ws.awaitClosed(5000)).isTrue();
        assertThat(ws.reset).isNotDone();
        await(() -> up.closeCodes.contains(1001));
        assertThat(c.connection.closeFuture().await(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void idleTimeoutSendsGoingAwayBothWays() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("listen: \"127.0.0.1:0\"\n", "{idle_timeout: 1s}", up);
        H2WsClient c = client(s);
        H2WsClient.Ws ws = c.websocket("/ws");
        WsClient.Frame f = ws.next(5000);
        assertThat(f.closeCode()).isEqualTo(1001);
        assertThat(ws.awaitClosed(5000)).isTrue();
        await(() -> up.closeCodes.contains(1001));
    }

    // ---- back-pressure --------------------------------------------------------------------------------------------

    /** Waits until {@code value} has started growing, then stopped for half a second; returns it. */
    private static long settled(LongSupplier value) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (value.getAsLong() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        long last = -1;
        long now = value.getAsLong();
        while (now != last) {
            last = now;
            Thread.sleep(500);
            now = value.getAsLong();
        }
        return now;
    }

    /**
     * A client that stops reading its stream holds the upstream back: Turnpike's stream is unwritable once the
     * client's window is used up, and the splice stops reading the upstream. What the upstream gets rid of is then
     * bounded by the kernel's buffers (as in {@link WebSocketBackPressureTest}) plus the stream's window, not by
     * the size of the flood; everything arrives once the client reads again.
     */
    @Test
    void aClientThatDoesNotReadItsStreamHoldsTheUpstreamBack() throws Exception {
        long flood = 128 * MIB;
        long bound = 2 * 32 * MIB + 2 * 4 * MIB + 2 * MIB;
        WsUpstream up = upstream("a");
        H2WsClient c = client(turnpike(up));
        H2WsClient.Ws ws = c.websocket("/ws");
        ws.countOnly = true;
        ws.pauseReading(true);
        ws.sendText("flood:" + flood / MIB);
        long stalled = settled(up.floodWritten::get);
        assertThat(stalled).as("the upstream is held back while the client reads nothing").isLessThan(bound)
                .isLessThan(flood);
        ws.pauseReading(false);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (ws.dataBytes.get() < flood && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(ws.dataBytes.get()).as("everything arrives once the client reads").isEqualTo(flood);
    }

    /**
     * The other way: an upstream that stops reading holds the client back. Turnpike stops reading the stream, so
     * it grants no more window, and the client's writes wait in its own flow controller: what leaves the client is
     * bounded by the stream window and the kernel's buffers, not by the flood.
     */
    @Test
    void anUpstreamThatDoesNotReadHoldsTheClientBack() throws Exception {
        long flood = 128 * MIB;
        long bound = 2 * 32 * MIB + 2 * 4 * MIB + 2 * MIB;
        WsUpstream up = upstream("a");
        H2WsClient c = client(turnpike(up));
        H2WsClient.Ws ws = c.websocket("/ws");
        ws.sendText("stall");
        java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
        byte[] chunk = new byte[64 * 1024];
        ws.stream.eventLoop().execute(() -> {
            for (long sent = 0; sent < flood; sent += chunk.length) {
                ws.stream.write(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(chunk)))
                        .addListener(f -> written.addAndGet(chunk.length));
            }
            ws.stream.flush();
        });
        long stalled = settled(written::get);
        assertThat(stalled).as("the client is held back while the upstream reads nothing").isLessThan(bound)
                .isLessThan(flood);
    }

    @Test
    void inspectionEnforcesTheRulesOverHttp2Too() throws Exception {
        WsUpstream up = upstream("a");
        H2WsClient c = client(turnpike("listen: \"127.0.0.1:0\"\n", "{inspect: true, max_frame_size: 1KiB}", up));
        H2WsClient.Ws ok = c.websocket("/ws");
        ok.send(new TextWebSocketFrame(false, 0, "frag"));
        ok.send(new ContinuationWebSocketFrame(true, 0, "ment"));
        assertThat(List.of(ok.next().text(), ok.next().text())).containsExactly("frag", "ment");

        H2WsClient.Ws bigFrame = c.websocket("/ws");
        bigFrame.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(new byte[2048])));
        WsClient.Frame f = bigFrame.next();
        assertThat(f.type()).isEqualTo("close");
        assertThat(f.closeCode()).isEqualTo(1009);
        assertThat(bigFrame.awaitClosed(5000)).isTrue();
        await(() -> up.closeCodes.contains(1001));

        H2WsClient.Ws badText = c.websocket("/ws");
        badText.send(new TextWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {(byte) 0xc3, (byte) 0x28})));
        assertThat(badText.next().closeCode()).isEqualTo(1007);

        ok.sendText("still fine");
        assertThat(ok.next().text()).as("other WebSockets on the connection go on").isEqualTo("still fine");
    }

    // ---- TLS --------------------------------------------------------------------------------------------------

    @Test
    void overTlsWithAlpnH2() throws Exception {
        TestPki pki = new TestPki(TestPki.KeyType.EC);
        pki.server(TestPki.KeyType.EC, "chat.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        WsUpstream up = upstream("a");
        TestServer s = turnpike("listeners:\n  - address: \"127.0.0.1:0\"\n    tls: { cert: s.pem, key: s.key }\n",
                "", up);
        H2WsClient c = H2WsClient.connectTls(s.port(), pki.ca, "chat.test");
        closeables.add(c);
        assertThat(c.serverSettings.get(10, TimeUnit.SECONDS).connectProtocolEnabled()).isTrue();
        H2WsClient.Ws ws = c.websocket("/ws");
        byte[] big = new byte[300_000];
        new Random(9).nextBytes(big);
        ws.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(big)));
        assertThat(ws.next().data()).isEqualTo(big);
        assertThat(up.handshakes.getFirst().get("x-forwarded-proto")).isEqualTo("https");
        ws.send(new CloseWebSocketFrame(1000, ""));
        assertThat(ws.next().closeCode()).isEqualTo(1000);
        assertThat(ws.awaitClosed(5000)).isTrue();
    }
}
