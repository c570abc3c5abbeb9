package dev.turnpike.proxy;

import dev.turnpike.testing.H2Client;
import dev.turnpike.testing.TestServer;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.handler.codec.http2.Http2Error;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The proxy behind an HTTP/2 client connection, to an HTTP/1.1 upstream: the request and response are
 * translated, and back-pressure holds across the protocols in both directions.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Http2ProxyIT {
    private static final long MIB = 1024 * 1024;

    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closeables);
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private TestUpstream upstream(TestUpstream.Handler handler) throws IOException {
        TestUpstream u = TestUpstream.start(handler);
        closeables.add(u);
        return u;
    }

    private TestServer turnpike(TestUpstream up) throws Exception {
        TestServer s = TestServer.start("""
                listeners:
                  - address: "127.0.0.1:0"
                    limits: { max_body_size: 0 }
                    http2: { flow_control_timeout: 3s }
                server: { event_loops: 1 }
                access_log: off
                sites:
                  - routes:
                      - path: /api/*
                        proxy: "%s"
                """.formatted(up.url()));
        closeables.add(s);
        return s;
    }

    private H2Client client(TestServer s) throws IOException {
        H2Client c = H2Client.connect(s.port());
        closeables.add(c);
        return c;
    }

    private static void respond(TestUpstream.Conn c, String body) throws IOException {
        c.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body);
    }

    @Test
    void getAndPostReachTheUpstreamAsHttp1() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            respond(c, req.method + " " + req.target + " " + req.bodyText());
            return true;
        });
        TestServer s = turnpike(up);
        H2Client c = client(s);

        H2Client.Stream get = c.response(c.send(H2Client.request("GET", "/api/items?x=1")
                .add("cookie", "a=1").add("cookie", "b=2").add("accept", "text/plain"), true));
        assertThat(get.status()).isEqualTo(200);
        assertThat(get.bodyText()).isEqualTo("GET /api/items?x=1 ");
        TestUpstream.Request r = up.nextRequest();
        assertThat(r.version).isEqualTo("HTTP/1.1");
        assertThat(r.header("host")).isEqualTo("127.0.0.1:" + up.port());
        assertThat(r.header("x-forwarded-host")).isEqualTo("localhost");
        assertThat(r.header("x-forwarded-proto")).isEqualTo("http");
        assertThat(r.header("cookie")).isEqualTo("a=1; b=2"); // RFC 9113 section 8.2.3
        assertThat(r.header("accept")).isEqualTo("text/plain");
        assertThat(r.headers).noneSatisfy(h -> assertThat(h[0].toLowerCase()).startsWith("x-http2"));
        assertThat(r.headers).noneSatisfy(h -> assertThat(h[0]).startsWith(":"));

        int sized = c.send(H2Client.request("POST", "/api/items").add("content-length", "5"), false);
        c.data(sized, "hello".getBytes(StandardCharsets.US_ASCII), true);
        assertThat(c.response(sized).bodyText()).isEqualTo("POST /api/items hello");
        assertThat(up.nextRequest().header("content-length")).isEqualTo("5");

        int streamed = c.send(H2Client.request("PUT", "/api/items"), false);
        c.data(streamed, "a body ".getBytes(StandardCharsets.US_ASCII), false);
        c.data(streamed, "without a length".getBytes(StandardCharsets.US_ASCII), true);
        assertThat(c.response(streamed).bodyText()).isEqualTo("PUT /api/items a body without a length");
        TestUpstream.Request chunked = up.nextRequest();
        assertThat(chunked.header("transfer-encoding")).isEqualTo("chunked");
        assertThat(chunked.hasHeader("content-length")).isFalse();

        H2Client.Stream head = c.response(c.send(H2Client.request("HEAD", "/api/items"), true));
        assertThat(head.status()).isEqualTo(200);
        assertThat(head.bodyBytes()).isEmpty();
    }

    @Test
    void upstreamResponsesWithoutLengthAndWithTrailersArriveWhole() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
                    + "Trailer: x-checksum\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: 42\r\n\r\n");
            return true;
        });
        H2Client c = client(turnpike(up));
        H2Client.Stream s = c.response(c.get("/api/chunked"));
        assertThat(s.status()).isEqualTo(200);
        assertThat(s.bodyText()).isEqualTo("hello world");
        assertThat(s.trailers).isNotNull();
        assertThat(s.trailers.get("x-checksum").toString()).isEqualTo("42");
        assertThat(s.head().contains("transfer-encoding")).isFalse();
        assertThat(s.head().contains("keep-alive")).isFalse();
        assertThat(s.head().contains("connection")).isFalse();
    }

    @Test
    void downloadToAClientThatDoesNotOpenItsWindowHoldsTheUpstreamBack() throws Exception {
        long size = 64 * MIB;
        AtomicLong written = new AtomicLong();
        TestUpstream up = upstream((req, c) -> {
            c.socket.setSendBufferSize(64 * 1024);
            c.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + size + "\r\n\r\n");
            byte[] block = new byte[64 * 1024];
            for (long off = 0; off < size; off += block.length) {
                c.out.write(block);
                written.set(off + block.length);
            }
            c.out.flush();
            return true;
        });
        TestServer s = turnpike(up);
        H2Client c = client(s);
        c.returnWindow = false; // reads its socket, but never grants the server more window
        long before = directMemory();
        try (MemorySampler memory = new MemorySampler()) {
            int id = c.get("/api/big");
            long heldAt = awaitStable(written);
            assertThat(heldAt).as("bytes the upstream could send to a client holding its window shut")
                    .isLessThan(24 * MIB);
            assertThat(c.dataReceived.get()).isLessThanOrEqualTo(65_535);
            // Nothing moves for flow_control_timeout: the stream is reset and the upstream connection closed.
            H2Client.Stream st = c.response(id);
            assertThat(st.resetCode).isNotNull();
            assertThat(up.closed.poll(10, TimeUnit.SECONDS)).as("upstream connection closed").isNotNull();
            assertThat(memory.stop() - before).as("direct memory growth").isLessThan(16 * MIB);
        }
        // The connection itself is fine: the next request is served.
        c.returnWindow = true;
    }

    @Test
    void uploadToASlowReadingUpstreamHoldsTheClientBack() throws Exception {
        long size = 64 * MIB;
        CountDownLatch startReading = new CountDownLatch(1);
        AtomicLong received = new AtomicLong();
        TestUpstream up = upstream((req, c) -> {
            c.socket.setReceiveBufferSize(64 * 1024);
            startReading.await();
            byte[] buf = new byte[64 * 1024];
            InputStream in = req.body;
            long sum = 0;
            int n;
            while ((n = in.read(buf)) > 0) {
                sum += n;
                received.set(sum);
            }
            respond(c, Long.toString(sum));
            return true;
        });
        TestServer s = turnpike(up);
        H2Client c = client(s);
        long before = directMemory();
        try (MemorySampler memory = new MemorySampler()) {
            int id = c.send(H2Client.request("PUT", "/api/upload").add("content-length", Long.toString(size)), false);
            // The upstream reads nothing: Turnpike must stop granting window rather than buffer.
            long sent = c.upload(id, size, false, 3_000);
            assertThat(sent).as("bytes the client could send while the upstream does not read").isLessThan(24 * MIB);
            long later = sent + c.upload(id, size - sent, false, 1_000);
            assertThat(later - sent).as("no more window granted while the upstream is stalled").isLessThan(2 * MIB);
            startReading.countDown();
            assertThat(later + c.upload(id, size - later, true, 30_000)).isEqualTo(size);
            H2Client.Stream st = c.response(id);
            assertThat(st.status()).isEqualTo(200);
            assertThat(st.bodyText()).isEqualTo(Long.toString(size));
            assertThat(received.get()).isEqualTo(size);
            assertThat(memory.stop() - before).as("direct memory growth").isLessThan(16 * MIB);
        }
    }

    @Test
    void aClientResetCancelsTheUpstreamRequest() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            if (req.target.endsWith("next")) {
                respond(c, "next");
                return true;
            }
            c.socket.setSoTimeout(20_000);
            c.socket.getInputStream().read(); // never answers; returns when Turnpike closes the connection
            return false;
        });
        H2Client c = client(turnpike(up));
        int id = c.get("/api/slow");
        up.nextRequest();
        c.rst(id, Http2Error.CANCEL);
        assertThat(up.closed.poll(10, TimeUnit.SECONDS)).as("upstream connection closed").isNotNull();
        assertThat(c.response(c.get("/api/next")).bodyText()).as("the connection lives on").isEqualTo("next");
    }

    private static long directMemory() {
        return PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
    }

    /** The peak of the pooled allocator's direct memory while it runs. */
    private static final class MemorySampler implements AutoCloseable {
        private final AtomicLong max = new AtomicLong(directMemory());
        private final Thread thread;
        private volatile boolean running = true;

        MemorySampler() {
            thread = Thread.ofPlatform().daemon().start(() -> {
                while (running) {
                    max.accumulateAndGet(directMemory(), Math::max);
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        long stop() {
            running = false;
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return max.get();
        }

        @Override
        public void close() {
            stop();
        }
    }

    /** Waits until {@code progress} stops moving and returns where; fails if it keeps moving. */
    private static long awaitStable(AtomicLong progress) throws InterruptedException {
        long last = progress.get();
        int unchanged = 0;
        for (int i = 0; i < 100; i++) {
            Thread.sleep(100);
            long now = progress.get();
            unchanged = now == last ? unchanged + 1 : 0;
            last = now;
            if (unchanged == 4) {
                return now;
            }
        }
        throw new AssertionError("the transfer was not held back; at " + last + " bytes");
    }
}
