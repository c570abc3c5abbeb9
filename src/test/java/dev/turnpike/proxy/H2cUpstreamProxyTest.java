package dev.turnpike.proxy;

import dev.turnpike.testing.H2Client;
import dev.turnpike.testing.H2cUpstream;
import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.TestServer;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** A cluster with {@code protocol: h2c}: HTTP/1.1 clients proxied as HTTP/2 streams to a real h2c upstream. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class H2cUpstreamProxyTest {
    private static final long MIB = 1024 * 1024;
    /**
     * The most bytes a stalled transfer may have in flight: one side's kernel socket buffers (Turnpike's send buffer
     * autotunes up to tcp_wmem's maximum, 4 MiB by default) plus the stream window; measured ~4.3 MiB for a download,
     * ~0.2 MiB for an upload. Buffering without bound would take the whole 64 MiB.
     */
    private static final long IN_FLIGHT = Math.max(8 * MIB, tcpMax("tcp_wmem") + 4 * MIB);

    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closeables);
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private static long tcpMax(String sysctl) {
        try {
            // Not Files.readString: it trusts the size /proc reports and returns only the first bytes.
            String[] v;
            try (InputStream in = Files.newInputStream(Path.of("/proc/sys/net/ipv4/" + sysctl))) {
                v = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+");
            }
            return Long.parseLong(v[2]);
        } catch (IOException | RuntimeException e) {
            return 6 * MIB;
        }
    }

    private H2cUpstream upstream(H2cUpstream.Handler h) throws Exception {
        H2cUpstream u = H2cUpstream.start(h);
        closeables.add(u);
        return u;
    }

    /** Turnpike with cluster {@code api} over h2c to {@code up}; {@code extra} is more cluster keys (indented 4). */
    private TestServer turnpike(H2cUpstream up, String extra) throws Exception {
        String yaml = "listeners: [{address: \"127.0.0.1:0\", limits: {max_body_size: 0}}]\n"
                + "server: {event_loops: 1}\n"
                + "access_log: off\n"
                + "clusters:\n"
                + "  api:\n"
                + "    endpoints: [\"127.0.0.1:" + up.port() + "\"]\n"
                + "    protocol: h2c\n"
                + extra
                + "sites:\n"
                + "  - routes:\n"
                + "      - path: /api/*\n"
                + "        proxy: {cluster: api}\n";
        TestServer s = TestServer.start(yaml);
        closeables.add(s);
        return s;
    }

    private RawClient client(TestServer s) throws Exception {
        RawClient c = s.connect();
        closeables.add(c);
        return c;
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: example.test\r\n\r\n";
    }

    private static String post(String path, String body) {
        return "POST " + path + " HTTP/1.1\r\nHost: example.test\r\nContent-Length: "
                + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
    }

    /** Answers 200 with the method, path and body it received. */
    private static void echo(H2cUpstream.Stream s) throws Exception {
        String body = s.bodyText();
        s.respond(200, Map.of("x-method", s.method(), "x-path", s.path(), "x-conn", Integer.toString(s.connection)),
                body);
    }

    // ---- requests and responses ----------------------------------------------------------------------------

    @Test
    void requestsGoAsStreamsWithPseudoHeadersAndWithoutConnectionFields() throws Exception {
        H2cUpstream up = upstream(H2cUpstreamProxyTest::echo);
        TestServer s = turnpike(up, "");
        RawClient c = client(s);
        RawClient.Response r = c.send("POST /api/items?x=1 HTTP/1.1\r\nHost: example.test\r\nConnection: keep-alive,"
                + " X-Hop\r\nX-Hop: secret\r\nTE: trailers\r\nContent-Length: 5\r\n\r\nhello").read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("hello");
        assertThat(r.header("x-method")).isEqualTo("POST");
        assertThat(r.header("x-path")).isEqualTo("/api/items?x=1");
        assertThat(r.header("x-http2-stream-id")).as("Netty's conversion header").isNull();
        H2cUpstream.Stream seen = up.nextRequest();
        assertThat(seen.headers.scheme().toString()).isEqualTo("http");
        assertThat(seen.headers.authority().toString()).isEqualTo("127.0.0.1:" + up.port());
        assertThat(seen.header("te")).isEqualTo("trailers");
        assertThat(seen.header("x-hop")).isNull();
        assertThat(seen.header("connection")).isNull();
        assertThat(seen.header("host")).isNull();
        assertThat(seen.header("x-forwarded-for")).isEqualTo("127.0.0.1");
        assertThat(seen.header("x-http2-scheme")).isNull();

        // The next request reuses the connection: a new stream, not a new connection.
        assertThat(c.send(get("/api/two")).read().status).isEqualTo(200);
        assertThat(up.connections.get()).isEqualTo(1);
        assertThat(up.streams.get()).isEqualTo(2);
        var pools = s.server().snapshot().clusters().require("api").pools().pools();
        assertThat(pools).hasSize(1);
        await(() -> pools.get(0).idleConnections() == 1);
        assertThat(pools.get(0).openConnections()).as("counted for metrics: the HTTP/2 connection").isEqualTo(1);
    }

    @Test
    void manyConcurrentRequestsShareOneConnection() throws Exception {
        int n = 40;
        CountDownLatch allIn = new CountDownLatch(n);
        H2cUpstream up = upstream(st -> {
            allIn.countDown();
            // Every request waits for all the others: they can only complete if they are in flight together.
            assertThat(allIn.await(20, TimeUnit.SECONDS)).isTrue();
            st.respond(200, st.path());
        });
        TestServer s = turnpike(up, "");
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        closeables.add(pool::shutdownNow);
        List<Future<RawClient.Response>> answers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String path = "/api/r" + i;
            answers.add(pool.submit(() -> {
                try (RawClient c = s.connect()) {
                    return c.send(get(path)).read();
                }
            }));
        }
        for (int i = 0; i < n; i++) {
            RawClient.Response r = answers.get(i).get(30, TimeUnit.SECONDS);
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("/api/r" + i);
        }
        assertThat(up.connections.get()).as("connections the upstream saw").isEqualTo(1);
        assertThat(up.maxActiveStreams.get()).isEqualTo(n);
    }

    @Test
    void theUpstreamsStreamLimitMakesRequestsWaitForAStreamOnTheOneConnectionAllowed() throws Exception {
        int n = 20;
        H2cUpstream up = H2cUpstream.start(5, st -> {
            Thread.sleep(50);
            st.respond(200, st.path());
        });
        closeables.add(up);
        // A first request lets the upstream's SETTINGS arrive before the burst.
        TestServer s = turnpike(up, "    pool: {max_connections: 1, max_pending: 100, pending_timeout: 20s}\n");
        assertThat(client(s).send(get("/api/first")).read().status).isEqualTo(200);
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        closeables.add(pool::shutdownNow);
        List<Future<RawClient.Response>> answers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String path = "/api/r" + i;
            answers.add(pool.submit(() -> {
                try (RawClient c = s.connect()) {
                    return c.send(get(path)).read();
                }
            }));
        }
        for (Future<RawClient.Response> a : answers) {
            assertThat(a.get(30, TimeUnit.SECONDS).status).isEqualTo(200);
        }
        assertThat(up.connections.get()).isEqualTo(1);
        assertThat(up.maxActiveStreams.get()).as("streams in flight at once").isLessThanOrEqualTo(5);
    }

    @Test
    void responseTrailersReachAnHttp1ClientInTheChunkedBody() throws Exception {
        H2cUpstream up = upstream(st -> {
            st.body();
            st.headers(200, Map.of("content-type", "application/octet-stream"), false);
            st.data("part one, ".getBytes(StandardCharsets.UTF_8), false);
            st.data("part two".getBytes(StandardCharsets.UTF_8), false);
            st.trailers(Map.of("x-checksum", "abc123", "x-status", "0"));
        });
        TestServer s = turnpike(up, "");
        RawClient.Response r = client(s).send("GET /api/t HTTP/1.1\r\nHost: example.test\r\nTE: trailers\r\n\r\n")
                .read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("transfer-encoding")).isEqualTo("chunked");
        assertThat(r.bodyText()).isEqualTo("part one, part two");
        assertThat(r.trailers).anySatisfy(t -> assertThat(t).containsExactly("x-checksum", "abc123"));
        assertThat(r.trailers).anySatisfy(t -> assertThat(t).containsExactly("x-status", "0"));
    }

    @Test
    void responseTrailersReachAnHttp2ClientAsATrailingHeadersFrame() throws Exception {
        H2cUpstream up = upstream(st -> {
            st.headers(200, Map.of("content-type", "application/octet-stream"), false);
            st.data("payload".getBytes(StandardCharsets.UTF_8), false);
            st.trailers(Map.of("x-checksum", "abc123"));
        });
        TestServer s = turnpike(up, "");
        try (H2Client c = H2Client.connect(s.port())) {
            Http2Headers req = H2Client.request("GET", "/api/t").add("te", "trailers");
            H2Client.Stream r = c.response(c.send(req, true));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("payload");
            assertThat(r.trailers).as("trailers of " + r).isNotNull();
            assertThat(r.trailers.get("x-checksum").toString()).isEqualTo("abc123");
        }
        assertThat(up.nextRequest().header("te")).as("te: trailers is passed on").isEqualTo("trailers");
    }

    @Test
    void requestTrailersGoToTheUpstreamAsATrailingHeadersFrame() throws Exception {
        H2cUpstream up = upstream(H2cUpstreamProxyTest::echo);
        TestServer s = turnpike(up, "");
        RawClient.Response r = client(s).send("POST /api/up HTTP/1.1\r\nHost: example.test\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Digest: d1\r\n\r\n").read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("hello");
        H2cUpstream.Stream seen = up.nextRequest();
        assertThat(seen.trailers()).isNotNull();
        assertThat(seen.trailers().get("x-digest").toString()).isEqualTo("d1");
    }

    @Test
    void aHeadersOnlyResponseEndsTheClientsResponse() throws Exception {
        H2cUpstream up = upstream(st -> st.headers(204, Map.of("x-empty", "yes"), true));
        TestServer s = turnpike(up, "");
        RawClient c = client(s);
        RawClient.Response r = c.send(get("/api/none")).read();
        assertThat(r.status).isEqualTo(204);
        assertThat(r.header("x-empty")).isEqualTo("yes");
        assertThat(c.send(get("/api/again")).read().status).as("the client connection lives on").isEqualTo(204);
    }

    @Test
    void aWebSocketHandshakeToAnHttp2ClusterGoesOnAsAPlainRequest() throws Exception {
        H2cUpstream up = upstream(st -> st.respond(200, Map.of("x-saw-upgrade",
                String.valueOf(st.header("upgrade") != null)), "plain"));
        TestServer s = turnpike(up, "");
        RawClient.Response r = client(s).send("GET /api/ws HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Version: 13\r\n\r\n").read();
        // An Upgrade cannot cross HTTP/2 (RFC 9113 8.6); ignoring it is what RFC 9110 allows.
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("plain");
        assertThat(r.header("x-saw-upgrade")).isEqualTo("false");
    }

    // ---- failures and retries ------------------------------------------------------------------------------

    @Test
    void aPostAboveTheLastStreamIdOfAGoAwayIsRetriedOnANewConnection() throws Exception {
        H2cUpstream up = upstream(st -> {
            if (st.connection == 0) {
                // Going away without having processed this stream: last stream id below it.
                H2cUpstream.goAway(st.parent(), st.id() - 2);
                return;
            }
            echo(st);
        });
        TestServer s = turnpike(up, "");
        RawClient.Response r = client(s).send(post("/api/orders", "one order")).read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("one order");
        assertThat(r.header("x-conn")).isEqualTo("1");
        assertThat(up.connections.get()).isEqualTo(2);
    }

    @Test
    void aPostRefusedWithRefusedStreamIsRetried() throws Exception {
        java.util.concurrent.atomic.AtomicInteger seen = new java.util.concurrent.atomic.AtomicInteger();
        H2cUpstream up = upstream(st -> {
            if (seen.getAndIncrement() == 0) {
                st.reset(Http2Error.REFUSED_STREAM);
                return;
            }
            echo(st);
        });
        TestServer s = turnpike(up, "");
        RawClient.Response r = client(s).send(post("/api/orders", "order")).read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("order");
        assertThat(seen.get()).isEqualTo(2);
        assertThat(up.connections.get()).as("a refused stream leaves the connection usable").isEqualTo(1);
    }

    @Test
    void aPostResetWithAnotherErrorIsNotRetried() throws Exception {
        java.util.concurrent.atomic.AtomicInteger seen = new java.util.concurrent.atomic.AtomicInteger();
        H2cUpstream up = upstream(st -> {
            seen.incrementAndGet();
            st.body();
            st.reset(Http2Error.INTERNAL_ERROR);
        });
        TestServer s = turnpike(up, "");
        RawClient.Response r = client(s).send(post("/api/orders", "order")).read();
        assertThat(r.status).isEqualTo(502);
        assertThat(seen.get()).isEqualTo(1);
    }

    @Test
    void aResetMidResponseTruncatesTheClientsResponse() throws Exception {
        H2cUpstream up = upstream(st -> {
            st.headers(200, Map.of("content-type", "text/plain"), false);
            st.data("the beginning".getBytes(StandardCharsets.UTF_8), false);
            Thread.sleep(100);
            st.reset(Http2Error.INTERNAL_ERROR);
        });
        TestServer s = turnpike(up, "");
        RawClient c = client(s);
        c.send(get("/api/cut"));
        String all = new String(c.readToEnd(), StandardCharsets.ISO_8859_1);
        assertThat(all).startsWith("HTTP/1.1 200").contains("the beginning");
        assertThat(all).as("no last chunk: the client can tell the body is incomplete").doesNotEndWith("0\r\n\r\n");
    }

    @Test
    void anUpstreamThatDoesNotSpeakHttp2Is502() throws Exception {
        TestUpstream h1 = TestUpstream.start((req, c) -> {
            ProxyHandlerTest.respond(c, 200, "", "HTTP/1.1 only");
            return false;
        });
        closeables.add(h1);
        String yaml = "listen: \"127.0.0.1:0\"\nserver: {event_loops: 1}\naccess_log: off\nclusters:\n"
                + "  api: {endpoints: [\"127.0.0.1:" + h1.port() + "\"], protocol: h2c, retries: {attempts: 0}}\n"
                + "sites:\n  - routes:\n      - path: /api/*\n        proxy: {cluster: api}\n";
        TestServer s = TestServer.start(yaml);
        closeables.add(s);
        assertThat(client(s).send(get("/api/x")).read().status).isEqualTo(502);
    }

    /**
     * The upstream enforces a call's grpc-timeout too, and may cancel the stream a moment before Turnpike's own timer
     * fires: the client must still hear DEADLINE_EXCEEDED, not UNAVAILABLE (before the head) or a cut (after it).
     */
    @Test
    void anUpstreamThatCancelsAtTheCallsDeadlineIsStillDeadlineExceeded() throws Exception {
        H2cUpstream up = upstream(st -> {
            st.body();
            if (st.path().endsWith("/late-head")) {
                st.headers(200, Map.of("content-type", "application/grpc"), false);
            }
            Thread.sleep(440); // the deadline is 500ms: cancel a moment before Turnpike's timer fires
            st.reset(Http2Error.CANCEL);
        });
        TestServer s = turnpike(up, "    retries: {attempts: 0}\n");
        String call = "POST /api/svc/%s HTTP/1.1\r\nHost: example.test\r\nContent-Type: application/grpc\r\n"
                + "TE: trailers\r\ngrpc-timeout: 500m\r\nContent-Length: 5\r\n\r\n\0\0\0\0\0";
        RawClient.Response early = client(s).send(call.formatted("early")).read();
        assertThat(early.status).isEqualTo(200);
        assertThat(early.header("grpc-status")).isEqualTo("4");

        RawClient.Response late = client(s).send(call.formatted("late-head")).read();
        assertThat(late.status).isEqualTo(200);
        assertThat(late.trailers).as("the call ends with trailers, not a cut")
                .anySatisfy(t -> assertThat(t).containsExactly("grpc-status", "4"));
    }

    // ---- idle connections ----------------------------------------------------------------------------------

    @Test
    void anIdleConnectionClosesAfterTheIdleTimeout() throws Exception {
        H2cUpstream up = upstream(H2cUpstreamProxyTest::echo);
        TestServer s = turnpike(up, "    pool: {idle_timeout: 300ms}\n");
        assertThat(client(s).send(get("/api/x")).read().status).isEqualTo(200);
        Thread.sleep(1000);
        assertThat(up.parents.get(0).isActive()).as("idle connection closed").isFalse();
        assertThat(client(s).send(get("/api/y")).read().status).isEqualTo(200);
        assertThat(up.connections.get()).isEqualTo(2);
    }

    @Test
    void aConnectionIsRetiredAfterMaxRequestsPerConnectionStreams() throws Exception {
        H2cUpstream up = upstream(H2cUpstreamProxyTest::echo);
        TestServer s = turnpike(up, "    pool: {max_requests_per_connection: 2}\n");
        RawClient c = client(s);
        List<String> conns = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            RawClient.Response r = c.send(get("/api/" + i)).read();
            assertThat(r.status).isEqualTo(200);
            conns.add(r.header("x-conn"));
        }
        assertThat(conns).containsExactly("0", "0", "1", "1", "2");
        await(() -> !up.parents.get(0).isActive() && !up.parents.get(1).isActive());
    }

    @Test
    void anIdleConnectionThatReceivesGoAwayIsNotUsedAgain() throws Exception {
        H2cUpstream up = upstream(H2cUpstreamProxyTest::echo);
        TestServer s = turnpike(up, "");
        RawClient c = client(s);
        RawClient.Response first = c.send(get("/api/one")).read();
        assertThat(first.header("x-conn")).isEqualTo("0");
        H2cUpstream.goAway(up.parents.get(0), 1); // graceful: stream 1 was processed, nothing after it will be
        await(() -> !up.parents.get(0).isActive());
        RawClient.Response second = c.send(get("/api/two")).read();
        assertThat(second.status).isEqualTo(200);
        assertThat(second.header("x-conn")).isEqualTo("1");
    }

    @Test
    void theClustersConnectionLimitCountsHttp2Connections() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        H2cUpstream up = upstream(st -> {
            release.await(20, TimeUnit.SECONDS);
            st.respond(200, st.path());
        });
        TestServer s = turnpike(up, "    limits: {max_connections: 1}\n");
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        closeables.add(pool::shutdownNow);
        List<Future<RawClient.Response>> answers = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            String path = "/api/r" + i;
            answers.add(pool.submit(() -> {
                try (RawClient c = s.connect()) {
                    return c.send(get(path)).read();
                }
            }));
        }
        await(() -> up.streams.get() == 10);
        release.countDown();
        for (Future<RawClient.Response> a : answers) {
            assertThat(a.get(20, TimeUnit.SECONDS).status).as("streams share the one connection allowed")
                    .isEqualTo(200);
        }
        assertThat(up.connections.get()).isEqualTo(1);
    }

    private static void await(java.util.function.BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met in time");
            }
            Thread.sleep(20);
        }
    }

    // ---- big bodies, back-pressure -------------------------------------------------------------------------

    private static long directMemory() {
        return PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
    }

    private static final byte[] PATTERN = new byte[251 + 64 * 1024];

    static {
        for (int i = 0; i < PATTERN.length; i++) {
            PATTERN[i] = (byte) (i % 251);
        }
    }

    private static byte[] block(long offset, int size) {
        return Arrays.copyOfRange(PATTERN, (int) (offset % 251), (int) (offset % 251) + size);
    }

    private static void check(byte[] b, int n, long offset) {
        int from = (int) (offset % 251);
        assertThat(Arrays.mismatch(b, 0, n, PATTERN, from, from + n)).as("body at " + offset).isNegative();
    }

    /** Waits until {@code progress} stops moving and returns where; fails if it keeps moving (unbounded buffer). */
    private static long awaitStable(AtomicLong progress) throws InterruptedException {
        long last = progress.get();
        int unchanged = 0;
        for (int i = 0; i < 100; i++) {
            Thread.sleep(100);
            long now = progress.get();
            unchanged = now == last ? unchanged + 1 : 0;
            last = now;
            if (unchanged == 5) {
                return now;
            }
        }
        throw new AssertionError("the transfer was not held back; at " + last + " bytes");
    }

    /**
     * A 64 MiB upload to an upstream that does not read at first: the stream's window runs out, Turnpike stops reading
     * the client, and its memory stays flat; then the whole body arrives intact.
     */
    @Test
    void anUploadToAStreamThatIsNotReadIsHeldBackByFlowControl() throws Exception {
        long size = 64 * MIB;
        CountDownLatch startReading = new CountDownLatch(1);
        AtomicLong received = new AtomicLong();
        H2cUpstream up = upstream(st -> {
            startReading.await(60, TimeUnit.SECONDS);
            byte[] b;
            long at = 0;
            while ((b = st.read()) != null) {
                check(b, b.length, at);
                at += b.length;
                received.set(at);
            }
            st.respond(200, Long.toString(at));
        });
        TestServer s = turnpike(up, "");
        long before = directMemory();
        try (Socket socket = new Socket()) {
            socket.setSendBufferSize(64 * 1024);
            socket.connect(new InetSocketAddress("127.0.0.1", s.port()));
            socket.setSoTimeout(60_000);
            AtomicLong sent = new AtomicLong();
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    OutputStream out = socket.getOutputStream();
                    out.write(("PUT /api/upload HTTP/1.1\r\nHost: example.test\r\nContent-Length: " + size
                            + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    for (long off = 0; off < size; off += 64 * 1024) {
                        out.write(block(off, 64 * 1024));
                        sent.set(off + 64 * 1024);
                    }
                    out.flush();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            long stalledAt = awaitStable(sent);
            assertThat(stalledAt).as("bytes taken from the client while the upstream stream is not read")
                    .isLessThan(IN_FLIGHT);
            assertThat(directMemory() - before).as("direct memory held while stalled").isLessThan(8 * MIB);
            startReading.countDown();
            writer.join(60_000);
            assertThat(readResponse(socket)).isEqualTo("200 " + size);
            assertThat(received.get()).isEqualTo(size);
        }
    }

    /**
     * A 64 MiB download to a client that stops reading: with auto-read off on the stream Turnpike consumes nothing, so
     * no WINDOW_UPDATE goes out and the upstream's DATA writes stop completing; then the whole body arrives intact.
     */
    @Test
    void aDownloadToAClientThatStopsReadingHoldsTheUpstreamBackThroughTheStreamWindow() throws Exception {
        long size = 64 * MIB;
        AtomicLong written = new AtomicLong();
        H2cUpstream up = upstream(st -> {
            st.headers(200, Map.of("content-length", Long.toString(size)), false);
            for (long off = 0; off < size; off += 16 * 1024) {
                st.data(block(off, 16 * 1024), off + 16 * 1024 >= size);
                written.set(off + 16 * 1024);
            }
        });
        TestServer s = turnpike(up, "    timeouts: {idle: 20s}\n");
        long before = directMemory();
        try (Socket socket = new Socket()) {
            socket.setReceiveBufferSize(64 * 1024);
            socket.connect(new InetSocketAddress("127.0.0.1", s.port()));
            socket.setSoTimeout(60_000);
            socket.getOutputStream().write(get("/api/big").getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = socket.getInputStream();
            assertThat(TestUpstream.readLine(in)).startsWith("HTTP/1.1 200");
            TestUpstream.readFields(in);
            byte[] buf = new byte[64 * 1024];
            long read = 0;
            while (read < MIB) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, MIB - read));
                check(buf, n, read);
                read += n;
            }
            long heldAt = awaitStable(written);
            assertThat(heldAt - read).as("bytes the upstream got out while the client is stalled")
                    .isLessThan(IN_FLIGHT);
            assertThat(directMemory() - before).as("direct memory held while stalled").isLessThan(8 * MIB);
            while (read < size) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, size - read));
                assertThat(n).as("connection closed at " + read).isPositive();
                check(buf, n, read);
                read += n;
            }
        }
    }

    /** "status body" of a Content-Length response read from {@code socket}. */
    private static String readResponse(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        String status = TestUpstream.readLine(in);
        List<String[]> headers = TestUpstream.readFields(in);
        String length = headers.stream().filter(h -> h[0].equalsIgnoreCase("content-length")).findFirst()
                .orElseThrow()[1];
        return status.split(" ")[1] + " "
                + new String(in.readNBytes(Integer.parseInt(length)), StandardCharsets.UTF_8);
    }
}
