package dev.turnpike.websocket;

import dev.turnpike.testing.WsClient;
import dev.turnpike.testing.WsUpstream;

import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.TestServer;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * WebSockets through Turnpike with a real client and server (Netty's WebSocket codecs on both ends): messages of
 * every kind both ways, the close handshake, handshakes Turnpike refuses before any upstream sees them, the route's
 * limits, and how Turnpike ends connections itself (idle timeout, shutdown, an upstream that dies).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WebSocketProxyTest {
    private static final String KEY = "dGhlIHNhbXBsZSBub25jZQ==";
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closeables);
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    WsUpstream upstream(String name) throws Exception {
        WsUpstream u = WsUpstream.start(name);
        closeables.add(u);
        return u;
    }

    /** Turnpike with /ws* and /deny* and /bad-accept* proxied to a cluster of {@code upstreams}. */
    TestServer turnpike(String websocket, WsUpstream... upstreams) throws Exception {
        return turnpike(websocket, "", upstreams);
    }

    TestServer turnpike(String websocket, String accessLog, WsUpstream... upstreams) throws Exception {
        String endpoints = String.join(", ", Arrays.stream(upstreams).map(WsUpstream::address).toList());
        String yaml = "listen: \"127.0.0.1:0\"\n"
                + "server: {event_loops: 1}\n"
                + "access_log: " + (accessLog.isEmpty() ? "off" : accessLog) + "\n"
                + "clusters:\n"
                + "  chat:\n"
                + "    endpoints: [" + endpoints + "]\n"
                + "sites:\n"
                + "  - routes:\n"
                + "      - path: /*\n"
                + "        proxy: {cluster: chat" + (websocket.isEmpty() ? "" : ", websocket: " + websocket) + "}\n";
        TestServer s = TestServer.start(yaml);
        closeables.add(s);
        return s;
    }

    WsClient client(TestServer s) throws Exception {
        return client(s, "/ws");
    }

    WsClient client(TestServer s, String path) throws Exception {
        WsClient c = WsClient.connect(s.port(), path);
        closeables.add(c);
        return c;
    }

    RawClient raw(TestServer s) throws Exception {
        RawClient c = s.connect();
        closeables.add(c);
        return c;
    }

    static String handshake(String extra) {
        return "GET /ws HTTP/1.1\r\nHost: chat.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: " + KEY + "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n";
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

    // ---- messages ----------------------------------------------------------------------------------------------

    @Test
    void textBinaryFragmentedAndLargeMessagesPassBothWaysUnchanged() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("", up);
        WsClient c = client(s);
        assertThat(c.handshakeResponse.status().code()).isEqualTo(101);

        c.sendText("hello");
        WsClient.Frame f = c.next();
        assertThat(f.type()).isEqualTo("text");
        assertThat(f.text()).isEqualTo("hello");

        byte[] bin = new byte[3000];
        new Random(1).nextBytes(bin);
        c.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(bin)));
        f = c.next();
        assertThat(f.type()).isEqualTo("binary");
        assertThat(f.data()).isEqualTo(bin);

        // a fragmented message comes back with the same fragments: frames are not reassembled on the way
        c.send(new TextWebSocketFrame(false, 0, "frag"));
        c.send(new ContinuationWebSocketFrame(false, 0, "men"));
        c.send(new ContinuationWebSocketFrame(true, 0, "ted"));
        assertThat(List.of(c.next(), c.next(), c.next())).extracting(WsClient.Frame::type, WsClient.Frame::fin,
                WsClient.Frame::text).containsExactly(
                org.assertj.core.groups.Tuple.tuple("text", false, "frag"),
                org.assertj.core.groups.Tuple.tuple("continuation", false, "men"),
                org.assertj.core.groups.Tuple.tuple("continuation", true, "ted"));

        // 16 MiB as one frame and as 16 fragments of 1 MiB
        byte[] big = new byte[16 * 1024 * 1024];
        new Random(2).nextBytes(big);
        c.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(big)));
        f = c.next(30_000);
        assertThat(f.data().length).isEqualTo(big.length);
        assertThat(Arrays.equals(f.data(), big)).isTrue();
        int piece = 1024 * 1024;
        for (int i = 0; i < 16; i++) {
            var part = Unpooled.wrappedBuffer(big, i * piece, piece);
            c.send(i == 0 ? new BinaryWebSocketFrame(false, 0, part) : new ContinuationWebSocketFrame(i == 15, 0, part));
        }
        ByteArrayOutputStream whole = new ByteArrayOutputStream();
        for (int i = 0; i < 16; i++) {
            f = c.next(30_000);
            assertThat(f.fin()).isEqualTo(i == 15);
            whole.writeBytes(f.data());
        }
        assertThat(Arrays.equals(whole.toByteArray(), big)).isTrue();

        // the handshake went upstream as one: Upgrade restored, forwarding headers added
        HttpHeaders seen = up.handshakes.getFirst();
        assertThat(seen.get("Upgrade")).isEqualToIgnoringCase("websocket");
        assertThat(seen.get("Connection")).isEqualToIgnoringCase("upgrade");
        assertThat(seen.get("X-Forwarded-For")).isEqualTo("127.0.0.1");
        await(() -> up.upgrades.get() == 1);
    }

    @Test
    void theAccessLogHasOneEntryPerWebSocketWrittenWhenItEnds(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path log = dir.resolve("access.log");
        WsUpstream up = upstream("a");
        TestServer s = turnpike("", "{format: json, output: \"" + log + "\"}", up);
        WsClient c = client(s);
        c.sendText("hello");
        assertThat(c.next().text()).isEqualTo("hello");
        Thread.sleep(300);
        c.send(new CloseWebSocketFrame(1000, ""));
        assertThat(c.awaitClosed(5000)).isTrue();
        await(() -> {
            try {
                return java.nio.file.Files.exists(log) && !java.nio.file.Files.readString(log).isEmpty();
            } catch (java.io.IOException e) {
                return false;
            }
        });
        var entry = new com.fasterxml.jackson.core.JsonFactory().createParser(java.nio.file.Files.readString(log));
        java.util.Map<String, String> fields = new java.util.HashMap<>();
        String name = null;
        for (var t = entry.nextToken(); t != null; t = entry.nextToken()) {
            if (t == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                name = entry.currentName();
            } else if (t.isScalarValue() && name != null) {
                fields.put(name, entry.getText());
            }
        }
        assertThat(fields).containsEntry("status", "101").containsEntry("target", "/ws")
                .containsEntry("upstream", up.address());
        // the session's length and the bytes sent to the client: the 101 is not counted, "hello" and the close are
        assertThat(Double.parseDouble(fields.get("duration_ms"))).isGreaterThan(250);
        assertThat(Long.parseLong(fields.get("bytes_sent"))).isEqualTo(7 + 4);
    }

    @Test
    void metricsCountTheHandshakeNotTheSession() throws Exception {
        WsUpstream up = upstream("a");
        String yaml = "listen: \"127.0.0.1:0\"\naccess_log: off\nclusters:\n  chat:\n    endpoints: [" + up.address()
                + "]\nsites:\n  - routes:\n      - {name: metrics, path: /metrics, respond: x}\n"
                + "      - {name: chat, proxy: {cluster: chat}}\n";
        var server = dev.turnpike.server.TurnpikeServer.start(
                dev.turnpike.config.ConfigLoader.parse(yaml, "test.yaml", java.nio.file.Path.of("")),
                (route, cfg, ctx) -> route.name().equals("metrics")
                        ? new dev.turnpike.metrics.web.MetricsHandler(ctx.metrics(), ctx.blockingExecutor())
                        : dev.turnpike.server.HandlerFactory.DEFAULT.create(route, cfg, ctx));
        closeables.add(server);
        int port = server.boundAddresses().getFirst().getPort();
        WsClient c = WsClient.connect(port, "/ws");
        closeables.add(c);
        c.sendText("hi");
        assertThat(c.next().text()).isEqualTo("hi");
        // counted when it switched, while it is still open: a 1xx whose duration is the handshake's
        String scrape;
        try (RawClient r = RawClient.connect(port)) {
            scrape = r.send("GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n").read().bodyText();
        }
        assertThat(scrape).containsPattern(
                "turnpike_requests_total\\{[^}]*route=\"chat\"[^}]*status=\"1xx\"} 1\\.0");
        c.send(new CloseWebSocketFrame(1000, ""));
        assertThat(c.awaitClosed(5000)).isTrue();
        Thread.sleep(200);
        try (RawClient r = RawClient.connect(port)) {
            scrape = r.send("GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n").read().bodyText();
        }
        assertThat(scrape).as("not counted a second time when it ends").containsPattern(
                "turnpike_requests_total\\{[^}]*route=\"chat\"[^}]*status=\"1xx\"} 1\\.0");
    }

    @Test
    void subprotocolIsNegotiatedEndToEnd() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("", up);
        WsClient c = WsClient.connect(s.port(), "/ws", new DefaultHttpHeaders(), "superchat");
        closeables.add(c);
        assertThat(c.handshakeResponse.headers().get("Sec-WebSocket-Protocol")).isEqualTo("superchat");
        assertThat(c.handshakeResponse.headers().get("X-Request-Id")).isNotNull();
    }

    @Test
    void theUrlFormAndStickySessionsWorkToo() throws Exception {
        WsUpstream up = upstream("a");
        TestServer url = TestServer.start("listen: \"127.0.0.1:0\"\naccess_log: off\nsites:\n  - routes:\n"
                + "      - proxy: \"http://" + up.address() + "\"\n");
        closeables.add(url);
        WsClient c = client(url);
        c.sendText("name?");
        assertThat(c.next().text()).isEqualTo("a");

        TestServer sticky = TestServer.start("listen: \"127.0.0.1:0\"\naccess_log: off\nclusters:\n  chat:\n"
                + "    endpoints: [" + up.address() + "]\n"
                + "    load_balancing: { policy: sticky, cookie: CHAT }\n"
                + "sites:\n  - routes:\n      - proxy: {cluster: chat}\n");
        closeables.add(sticky);
        WsClient pinned = client(sticky);
        assertThat(pinned.handshakeResponse.headers().get("Set-Cookie")).startsWith("CHAT=");
    }

    @Test
    void aListenerWithoutSendfileSwitchesToo() throws Exception {
        // without sendfile the HTTP/1.1 pipeline has a chunked writer, which the switch removes as well
        WsUpstream up = upstream("a");
        TestServer s = TestServer.start("listeners: [{address: \"127.0.0.1:0\", sendfile: false}]\naccess_log: off\n"
                + "sites:\n  - routes:\n      - proxy: \"http://" + up.address() + "\"\n");
        closeables.add(s);
        WsClient c = client(s);
        byte[] bin = new byte[200_000];
        new Random(5).nextBytes(bin);
        c.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(bin)));
        assertThat(c.next().data()).isEqualTo(bin);
    }

    @Test
    void pingIsAnsweredByTheUpstreamWithPong() throws Exception {
        TestServer s = turnpike("", upstream("a"));
        WsClient c = client(s);
        c.send(new PingWebSocketFrame(Unpooled.copiedBuffer("are you there", StandardCharsets.UTF_8)));
        WsClient.Frame f = c.next();
        assertThat(f.type()).isEqualTo("pong");
        assertThat(f.text()).isEqualTo("are you there");
    }

    @Test
    void framesSentWithTheHandshakeAreNotLostNorReadAsHttp() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("", up);
        RawClient c = raw(s);
        // the client does not wait for the 101 (RFC 6455 says it should): the frame is held, then spliced
        byte[] frame = {(byte) 0x81, (byte) 0x82, 1, 2, 3, 4, (byte) ('o' ^ 1), (byte) ('k' ^ 2)};
        byte[] head = handshake("").getBytes(StandardCharsets.ISO_8859_1);
        byte[] both = Arrays.copyOf(head, head.length + frame.length);
        System.arraycopy(frame, 0, both, head.length, frame.length);
        c.send(both);
        RawClient.Response r = c.readHead();
        assertThat(r.status).isEqualTo(101);
        assertThat(r.header("Sec-WebSocket-Accept")).isEqualTo("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assertThat(r.header("Connection")).isEqualToIgnoringCase("upgrade");
        byte[] echo = c.input().readNBytes(4);
        assertThat(echo).containsExactly((byte) 0x81, 2, 'o', 'k');
    }

    @Test
    void framesTheUpstreamSendsWithItsHandshakeAreNotLost() throws Exception {
        // a raw upstream that writes its 101 and a first frame in one write: Turnpike reads them together
        try (java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread t = Thread.ofVirtual().start(() -> {
                try (java.net.Socket sock = server.accept()) {
                    var in = new java.io.BufferedReader(new java.io.InputStreamReader(sock.getInputStream(),
                            StandardCharsets.ISO_8859_1));
                    String key = null;
                    for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
                        if (line.toLowerCase(java.util.Locale.ROOT).startsWith("sec-websocket-key:")) {
                            key = line.substring(18).trim();
                        }
                    }
                    byte[] head = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            + "Sec-WebSocket-Accept: " + WebSocketHandshake.accept(key) + "\r\n\r\n")
                            .getBytes(StandardCharsets.ISO_8859_1);
                    byte[] frame = {(byte) 0x81, 7, 'w', 'e', 'l', 'c', 'o', 'm', 'e'};
                    byte[] both = Arrays.copyOf(head, head.length + frame.length);
                    System.arraycopy(frame, 0, both, head.length, frame.length);
                    sock.getOutputStream().write(both);
                    sock.getOutputStream().flush();
                    sock.getInputStream().read(); // until Turnpike closes
                } catch (java.io.IOException e) {
                    // the test fails on the client side
                }
            });
            TestServer s = TestServer.start("listen: \"127.0.0.1:0\"\naccess_log: off\nclusters:\n  raw:\n"
                    + "    endpoints: [127.0.0.1:" + server.getLocalPort() + "]\n"
                    + "sites:\n  - routes:\n      - proxy: {cluster: raw}\n");
            closeables.add(s);
            WsClient c = client(s);
            WsClient.Frame f = c.next();
            assertThat(f.type()).isEqualTo("text");
            assertThat(f.text()).isEqualTo("welcome");
            c.close();
            t.join(5000);
        }
    }

    // ---- close handshakes ----------------------------------------------------------------------------------------

    @Test
    void clientInitiatedCloseHandshakeCarriesTheCode() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("", up);
        WsClient c = client(s);
        c.answerClose = false;
        c.send(new CloseWebSocketFrame(4000, "bye"));
        WsClient.Frame f = c.next();
        assertThat(f.type()).isEqualTo("close");
        assertThat(f.closeCode()).isEqualTo(4000);
        assertThat(c.awaitClosed(5000)).as("Turnpike closes TCP once both close frames passed").isTrue();
        await(() -> s.server().snapshot().clusters().require("chat").endpoints().getFirst().load() == 0);
    }

    @Test
    void upstreamInitiatedCloseHandshakeCarriesTheCode() throws Exception {
        TestServer s = turnpike("", upstream("a"));
        WsClient c = client(s);
        c.sendText("close:4001");
        WsClient.Frame f = c.next();
        assertThat(f.type()).isEqualTo("close");
        assertThat(f.closeCode()).isEqualTo(4001);
        assertThat(f.reason()).isEqualTo("bye from a");
        assertThat(c.awaitClosed(5000)).isTrue();
    }

    // ---- refused handshakes: never reach the upstream --------------------------------------------------------------

    @Test
    void badHandshakesAreRefusedBeforeTheUpstream() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("{allowed_origins: [\"https://chat.example.com\", \"https://*.example.org\"]}", up);
        String key = "Sec-WebSocket-Key: " + KEY + "\r\n";
        String v13 = "Sec-WebSocket-Version: 13\r\n";
        String upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
        record Case(String name, String request, int status) {}
        List<Case> cases = List.of(
                new Case("POST", "POST /ws HTTP/1.1\r\nHost: h\r\n" + upgrade + key + v13 + "Content-Length: 0\r\n\r\n", 400),
                new Case("HTTP/1.0", "GET /ws HTTP/1.0\r\nHost: h\r\n" + upgrade + key + v13 + "\r\n", 400),
                new Case("no Connection upgrade", "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                        + "Connection: keep-alive\r\n" + key + v13 + "\r\n", 400),
                new Case("version 8", "GET /ws HTTP/1.1\r\nHost: h\r\n" + upgrade + key
                        + "Sec-WebSocket-Version: 8\r\n\r\n", 426),
                new Case("no version", "GET /ws HTTP/1.1\r\nHost: h\r\n" + upgrade + key + "\r\n", 426),
                new Case("no key", "GET /ws HTTP/1.1\r\nHost: h\r\n" + upgrade + v13 + "\r\n", 400),
                new Case("15-byte key", "GET /ws HTTP/1.1\r\nHost: h\r\n" + upgrade
                        + "Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0O\r\n" + v13 + "\r\n", 400),
                new Case("key not base64", "GET /ws HTTP/1.1\r\nHost: h\r\n" + upgrade
                        + "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n" + v13 + "\r\n", 400),
                new Case("two keys", "GET /ws HTTP/1.1\r\nHost: h\r\n" + upgrade + key + key + v13 + "\r\n", 400),
                new Case("a body", "GET /ws HTTP/1.1\r\nHost: h\r\n" + upgrade + key + v13
                        + "Content-Length: 2\r\n\r\nhi", 400),
                new Case("foreign origin", "GET /ws HTTP/1.1\r\nHost: h\r\n" + upgrade + key + v13
                        + "Origin: https://evil.example\r\n\r\n", 403),
                new Case("origin of the bare wildcard domain", "GET /ws HTTP/1.1\r\nHost: h\r\n" + upgrade + key + v13
                        + "Origin: https://example.org\r\n\r\n", 403));
        for (Case k : cases) {
            RawClient c = raw(s);
            RawClient.Response r = c.send(k.request()).read();
            assertThat(r.status).as(k.name()).isEqualTo(k.status());
            if (k.status() == 426) {
                assertThat(r.header("Sec-WebSocket-Version")).as(k.name()).isEqualTo("13");
            }
        }
        assertThat(up.connections.get()).as("no refused handshake reached the upstream").isZero();

        // the allowed origins (exact and wildcard) and no origin at all go through
        for (String origin : List.of("https://chat.example.com", "https://eu.example.org", "")) {
            RawClient c = raw(s);
            RawClient.Response r = c.send(handshake(origin.isEmpty() ? "" : "Origin: " + origin + "\r\n")).readHead();
            assertThat(r.status).as(origin).isEqualTo(101);
        }
        await(() -> up.upgrades.get() == 3);
    }

    @Test
    void anUpstreamThatRefusesTheUpgradeIsRelayedAsANormalResponse() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("", up);
        assertThatThrownBy(() -> WsClient.connect(s.port(), "/deny"))
                .isInstanceOfSatisfying(WebSocketClientHandshakeException.class,
                        e -> assertThat(e.response().status().code()).isEqualTo(403));
        RawClient c = raw(s);
        RawClient.Response r = c.send(handshake("").replace("/ws", "/deny")).read();
        assertThat(r.status).isEqualTo(403);
        assertThat(r.bodyText()).isEqualTo("denied by a");
        // the connection goes on as HTTP/1.1
        RawClient.Response next = c.send("GET /deny HTTP/1.1\r\nHost: h\r\n\r\n").read();
        assertThat(next.status).isEqualTo(403);
        ClusterCounts.assertSettled(s, "chat");
    }

    @Test
    void a101WithAWrongAcceptIsA502() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("", up);
        RawClient.Response r = raw(s).send(handshake("").replace("/ws", "/bad-accept")).read();
        assertThat(r.status).isEqualTo(502);
    }

    @Test
    void withWebSocketOffTheUpgradeIsIgnored() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("false", up);
        RawClient.Response r = raw(s).send(handshake("")).read();
        assertThat(r.status).isNotEqualTo(101);
        assertThat(up.handshakes.getFirst().contains("Upgrade")).isFalse();
    }

    // ---- limits ---------------------------------------------------------------------------------------------------

    @Test
    void routeAndPerClientLimitsRefuseBeforeUpgrading() throws Exception {
        WsUpstream up = upstream("a");
        TestServer perRoute = turnpike("{max_connections: 2}", up);
        WsClient first = client(perRoute);
        client(perRoute);
        RawClient.Response r = raw(perRoute).send(handshake("")).read();
        assertThat(r.status).isEqualTo(503);
        assertThat(r.header("Retry-After")).isEqualTo("1");
        assertThat(up.connections.get()).isEqualTo(2);
        // a slot is given back when a WebSocket ends
        first.send(new CloseWebSocketFrame(1000, ""));
        assertThat(first.awaitClosed(5000)).isTrue();
        await(() -> {
            try (RawClient c = perRoute.connect()) {
                return c.send(handshake("")).readHead().status == 101;
            } catch (Exception e) {
                return false;
            }
        });

        TestServer perClient = turnpike("{max_connections_per_client: 1}", up);
        client(perClient);
        assertThat(raw(perClient).send(handshake("")).read().status).isEqualTo(429);
    }

    // ---- Turnpike ends connections ---------------------------------------------------------------------------------

    @Test
    void idleTimeoutSendsGoingAwayBothWays() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("{idle_timeout: 1s}", up);
        WsClient c = client(s);
        c.sendText("hi");
        assertThat(c.next().text()).isEqualTo("hi");
        long start = System.nanoTime();
        WsClient.Frame f = c.next(5000);
        assertThat(f.type()).isEqualTo("close");
        assertThat(f.closeCode()).isEqualTo(1001);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(500L, 4000L);
        assertThat(c.awaitClosed(5000)).isTrue();
        await(() -> up.closeCodes.contains(1001));
    }

    @Test
    void shutdownSendsGoingAwayInsteadOfCuttingTcp() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("", up);
        WsClient c = client(s);
        c.sendText("hi");
        assertThat(c.next().text()).isEqualTo("hi");
        long start = System.nanoTime();
        s.shutdown(Duration.ofSeconds(10));
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start))
                .as("the close handshake ends the connection long before the deadline").isLessThan(5000);
        WsClient.Frame f = c.next(1000);
        assertThat(f.type()).isEqualTo("close");
        assertThat(f.closeCode()).isEqualTo(1001);
        assertThat(c.awaitClosed(5000)).isTrue();
        await(() -> up.closeCodes.contains(1001));
    }

    @Test
    void anUpstreamThatGoesAwayGets1012AndOneThatFailsGets1011() throws Exception {
        WsUpstream a = upstream("a");
        TestServer s = turnpike("", a);
        WsClient c = client(s);
        c.sendText("hi");
        assertThat(c.next().text()).isEqualTo("hi");
        a.kill();
        WsClient.Frame f = c.next(5000);
        assertThat(f.type()).isEqualTo("close");
        assertThat(f.closeCode()).isEqualTo(1012);
        assertThat(c.awaitClosed(5000)).isTrue();

        WsUpstream b = upstream("b");
        TestServer s2 = turnpike("", b);
        WsClient c2 = client(s2);
        c2.sendText("hi");
        assertThat(c2.next().text()).isEqualTo("hi");
        b.reset();
        f = c2.next(5000);
        assertThat(f.closeCode()).isEqualTo(1011);
        assertThat(c2.awaitClosed(5000)).isTrue();
        ClusterCounts.assertSettled(s2, "chat");
    }

    @Test
    void aClientThatGoesAwayIsReportedToTheUpstreamWith1001() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("", up);
        WsClient c = client(s);
        c.sendText("hi");
        assertThat(c.next().text()).isEqualTo("hi");
        c.channel.close().sync(); // TCP only, no close frame
        await(() -> up.closeCodes.contains(1001));
        await(() -> up.open.isEmpty());
        ClusterCounts.assertSettled(s, "chat");
    }

    // ---- inspection ------------------------------------------------------------------------------------------------

    @Test
    void inspectionEnforcesFrameMessageAndUtf8Rules() throws Exception {
        WsUpstream up = upstream("a");
        TestServer s = turnpike("{inspect: true, max_frame_size: 1KiB, max_message_size: 4KiB}", up);

        WsClient ok = client(s);
        ok.sendText("hello");
        assertThat(ok.next().text()).isEqualTo("hello");
        ok.send(new TextWebSocketFrame(false, 0, "frag"));
        ok.send(new ContinuationWebSocketFrame(true, 0, "ment"));
        assertThat(List.of(ok.next().text(), ok.next().text())).containsExactly("frag", "ment");
        ok.send(new PingWebSocketFrame(Unpooled.copiedBuffer("p", StandardCharsets.UTF_8)));
        assertThat(ok.next().type()).isEqualTo("pong");

        WsClient bigFrame = client(s);
        bigFrame.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(new byte[2048])));
        WsClient.Frame f = bigFrame.nextData();
        assertThat(f.type()).isEqualTo("close");
        assertThat(f.closeCode()).isEqualTo(1009);
        assertThat(bigFrame.awaitClosed(5000)).isTrue();
        await(() -> up.closeCodes.contains(1001));

        WsClient bigMessage = client(s);
        for (int i = 0; i < 5; i++) {
            var part = Unpooled.wrappedBuffer(new byte[1000]);
            bigMessage.send(i == 0 ? new BinaryWebSocketFrame(false, 0, part) : new ContinuationWebSocketFrame(i == 4, 0, part));
        }
        f = bigMessage.nextData();
        while (!f.type().equals("close")) {
            f = bigMessage.nextData(); // the first fragments may have been echoed already
        }
        assertThat(f.closeCode()).isEqualTo(1009);

        WsClient badText = client(s);
        badText.send(new TextWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {(byte) 0xc3, (byte) 0x28})));
        f = badText.nextData();
        assertThat(f.type()).isEqualTo("close");
        assertThat(f.closeCode()).isEqualTo(1007);
    }
}
