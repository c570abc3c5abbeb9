package dev.turnpike.http2;

import dev.turnpike.http.Handler;
import dev.turnpike.server.Fixture;
import dev.turnpike.testing.H2Client;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameTypes;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each known HTTP/2 attack, driven by a raw-frame client: the attacker gets GOAWAY (or its stream reset) and
 * is closed, while an honest client on another connection is served before, during and after.
 */
class Http2AttacksIT {
    static final String YAML = """
            listeners:
              - address: "127.0.0.1:0"
                http2:
                  max_concurrent_streams: 16
                  max_resets: 50
                  max_control_frames: 100
                  control_frame_window: 10s
                  flow_control_timeout: 1s
            access_log: off
            sites:
              - routes:
                  - {name: stuck, path: /stuck, respond: "replaced"}
                  - {path: /hello, respond: "hello"}
                  - {path: /files/*, static: {root: %s, strip_prefix: /files}}
            """;
    static final long ENHANCE_YOUR_CALM = Http2Error.ENHANCE_YOUR_CALM.code();

    @TempDir
    static Path dir;
    static Fixture f;
    static Fixture.Stuck stuck = new Fixture.Stuck();

    @BeforeAll
    static void start() throws Exception {
        Files.write(dir.resolve("big.bin"), new byte[4 * 1024 * 1024]);
        f = Fixture.start(YAML.formatted(dir), Map.<String, Supplier<Handler>>of("stuck", () -> stuck));
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    /** An honest client asking for /hello on its own connection for as long as the attack runs. */
    static final class Honest implements AutoCloseable {
        final H2Client client;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicInteger served = new AtomicInteger();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final Thread thread;

        Honest() throws Exception {
            client = H2Client.connect(f.port());
            assertThat(client.response(client.get("/hello")).status()).isEqualTo(200);
            thread = Thread.ofPlatform().daemon().start(() -> {
                while (!stop.get()) {
                    try {
                        H2Client.Stream s = client.response(client.get("/hello"));
                        if (s.status() == 200 && s.bodyText().equals("hello")) {
                            served.incrementAndGet();
                        } else {
                            failures.add("status " + s.status() + " reset " + s.resetCode);
                        }
                        Thread.sleep(5);
                    } catch (Exception e) {
                        failures.add(e.toString());
                        return;
                    }
                }
            });
        }

        @Override
        public void close() throws Exception {
            stop.set(true);
            thread.join(30_000);
            // Still served after the attack.
            H2Client.Stream after = client.response(client.get("/hello"));
            client.close();
            assertThat(failures).as("honest client's failures").isEmpty();
            assertThat(served.get()).as("honest requests served during the attack").isPositive();
            assertThat(after.status()).isEqualTo(200);
        }
    }

    static void assertGoneWith(H2Client attacker, long errorCode) throws Exception {
        H2Client.GoAway g = attacker.awaitGoAway();
        assertThat(g.errorCode()).as("GOAWAY %s", g.debug()).isEqualTo(errorCode);
        assertThat(attacker.awaitClosed(10_000)).as("closed after GOAWAY").isTrue();
    }

    @Test
    void rapidResetGetsGoAwayEnhanceYourCalm() throws Exception {
        try (Honest honest = new Honest(); H2Client attacker = H2Client.connect(f.port())) {
            int abortsBefore = stuck.aborts.get();
            try {
                for (int i = 0; i < 1000 && !attacker.closed.isDone(); i++) {
                    int id = attacker.send(H2Client.request("GET", "/stuck"), true);
                    attacker.rst(id, Http2Error.CANCEL);
                }
            } catch (java.io.IOException e) {
                // closed while flooding
            }
            assertGoneWith(attacker, ENHANCE_YOUR_CALM);
            // The handler saw each reset stream go; no more than the reset budget (plus what was in flight).
            assertThat(stuck.aborts.get() - abortsBefore).isBetween(1, 50 + 16 + 1);
        }
    }

    @Test
    void aClientResetAbortsTheExchangeAndIsNotAnsweredWithAReset() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            int abortsBefore = stuck.aborts.get();
            int id = c.send(H2Client.request("POST", "/stuck"), false);
            c.data(id, new byte[100], false);
            Thread.sleep(100);
            c.rst(id, Http2Error.CANCEL);
            assertThat(c.response(c.get("/hello")).status()).isEqualTo(200);
            Http2MalformedIT.waitFor(() -> stuck.aborts.get() > abortsBefore);
            assertThat(stuck.aborts.get()).isEqualTo(abortsBefore + 1);
            assertThat(c.frames).noneMatch(frame -> frame.startsWith("RST " + id + " "));
        }
    }

    @Test
    void continuationFloodGetsGoAway() throws Exception {
        try (Honest honest = new Honest(); H2Client attacker = H2Client.connect(f.port())) {
            // The reader thread acknowledges the server's SETTINGS: that ACK must go out before the header block
            // starts, or it lands between CONTINUATION frames and the connection ends with PROTOCOL_ERROR instead.
            attacker.serverSettings.get(5, java.util.concurrent.TimeUnit.SECONDS);
            int id = attacker.nextStreamId();
            byte[] block = H2Client.literalBlock(":method", "GET", ":path", "/hello", ":scheme", "http",
                    "x-padding", "p".repeat(20_000));
            attacker.frame(Http2FrameTypes.HEADERS, 0x1, id, java.util.Arrays.copyOfRange(block, 0, 1)); // END_STREAM only
            try {
                for (int i = 1; i < block.length && !attacker.closed.isDone(); i++) {
                    attacker.frame(Http2FrameTypes.CONTINUATION, 0, id, new byte[]{block[i]});
                }
            } catch (java.io.IOException e) {
                // closed while flooding
            }
            assertGoneWith(attacker, ENHANCE_YOUR_CALM);
        }
    }

    @Test
    void headerBlockBeyondTheLimitAcrossContinuationFramesGetsGoAway() throws Exception {
        try (Honest honest = new Honest(); H2Client attacker = H2Client.connect(f.port())) {
            int id = attacker.nextStreamId();
            attacker.frame(Http2FrameTypes.HEADERS, 0x1, id,
                    H2Client.literalBlock(":method", "GET", ":path", "/hello", ":scheme", "http"));
            byte[] big = new byte[16_000];
            java.util.Arrays.fill(big, (byte) 'a');
            try {
                for (int i = 0; i < 200 && !attacker.closed.isDone(); i++) { // 3.2 MB if nothing stopped it
                    attacker.frame(Http2FrameTypes.CONTINUATION, 0, id, big);
                }
            } catch (java.io.IOException e) {
                // closed while sending
            }
            H2Client.GoAway g = attacker.awaitGoAway();
            assertThat(g.errorCode()).isNotEqualTo(Http2Error.NO_ERROR.code());
            assertThat(attacker.awaitClosed(10_000)).isTrue();
        }
    }

    @Test
    void hpackBombIsCutAtTheHeaderListLimit() throws Exception {
        try (Honest honest = new Honest(); H2Client attacker = H2Client.connect(f.port())) {
            // One 4 KB field into the dynamic table (literal with incremental indexing) ...
            ByteArrayOutputStream first = new ByteArrayOutputStream();
            first.writeBytes(H2Client.literalBlock(":method", "GET", ":path", "/hello", ":scheme", "http"));
            byte[] bomb = H2Client.literalBlock("x-bomb", "b".repeat(4000));
            bomb[0] = 0x40;
            first.writeBytes(bomb);
            int a = attacker.nextStreamId();
            attacker.frame(Http2FrameTypes.HEADERS, 0x5, a, first.toByteArray());
            assertThat(attacker.response(a).status()).isEqualTo(200);
            // ... then referenced 1000 times by one byte each: 1 KB on the wire, 4 MB decoded.
            ByteArrayOutputStream second = new ByteArrayOutputStream();
            second.writeBytes(H2Client.literalBlock(":method", "GET", ":path", "/hello", ":scheme", "http"));
            for (int i = 0; i < 1000; i++) {
                second.write(0x80 | 62); // indexed field: the first dynamic table entry
            }
            int b = attacker.nextStreamId();
            attacker.frame(Http2FrameTypes.HEADERS, 0x5, b, second.toByteArray());
            H2Client.Stream s = attacker.response(b);
            assertThat(s.status() == 431 || s.resetCode != null).as("431 or reset, not served").isTrue();
            assertThat(s.bodyText()).doesNotContain("hello");
        }
    }

    @Test
    void settingsFloodGetsGoAway() throws Exception {
        try (Honest honest = new Honest(); H2Client attacker = H2Client.connect(f.port())) {
            try {
                for (int i = 0; i < 500 && !attacker.closed.isDone(); i++) {
                    attacker.settings(new Http2Settings().maxConcurrentStreams(100 + i));
                }
            } catch (java.io.IOException e) {
                // closed while flooding
            }
            assertGoneWith(attacker, ENHANCE_YOUR_CALM);
        }
    }

    @Test
    void pingFloodGetsGoAway() throws Exception {
        try (Honest honest = new Honest(); H2Client attacker = H2Client.connect(f.port())) {
            try {
                for (int i = 0; i < 500 && !attacker.closed.isDone(); i++) {
                    attacker.ping(i);
                }
            } catch (java.io.IOException e) {
                // closed while flooding
            }
            assertGoneWith(attacker, ENHANCE_YOUR_CALM);
            assertThat(attacker.pingAcks.get()).isLessThanOrEqualTo(101);
        }
    }

    @Test
    void priorityFloodGetsGoAway() throws Exception {
        try (Honest honest = new Honest(); H2Client attacker = H2Client.connect(f.port())) {
            try {
                for (int i = 0; i < 500 && !attacker.closed.isDone(); i++) {
                    attacker.priority(2 * i + 1, 0, (short) 16);
                }
            } catch (java.io.IOException e) {
                // closed while flooding
            }
            assertGoneWith(attacker, ENHANCE_YOUR_CALM);
        }
    }

    @Test
    void unknownFrameFloodGetsGoAway() throws Exception {
        try (Honest honest = new Honest(); H2Client attacker = H2Client.connect(f.port())) {
            try {
                for (int i = 0; i < 500 && !attacker.closed.isDone(); i++) {
                    attacker.frame((byte) 0x2a, 0, 0, new byte[0]);
                }
            } catch (java.io.IOException e) {
                // closed while flooding
            }
            assertGoneWith(attacker, ENHANCE_YOUR_CALM);
        }
    }

    @Test
    void emptyDataFramesGetGoAwayEvenWhenNotConsecutive() throws Exception {
        try (Honest honest = new Honest(); H2Client attacker = H2Client.connect(f.port())) {
            int id = attacker.send(H2Client.request("POST", "/stuck"), false);
            try {
                // A one-byte frame between the empty ones defeats a count of consecutive empty frames.
                for (int i = 0; i < 500 && !attacker.closed.isDone(); i++) {
                    attacker.data(id, new byte[0], false);
                    attacker.data(id, new byte[1], false);
                }
            } catch (java.io.IOException e) {
                // closed while flooding
            }
            assertGoneWith(attacker, ENHANCE_YOUR_CALM);
        }
    }

    @Test
    void streamsBeyondTheConcurrencyLimitAreRefused() throws Exception {
        try (Honest honest = new Honest(); H2Client attacker = H2Client.connect(f.port())) {
            attacker.serverSettings.get();
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                ids.add(attacker.send(H2Client.request("GET", "/stuck"), true));
            }
            H2Client.Stream refused = attacker.response(ids.get(16));
            assertThat(refused.resetCode).isEqualTo(Http2Error.REFUSED_STREAM.code());
            assertThat(attacker.stream(ids.get(0)).done).isNotDone(); // the first 16 are being served (stuck)
            for (int i = 0; i < 16; i++) {
                attacker.rst(ids.get(i), Http2Error.CANCEL);
            }
            // Slots freed: a new stream is served.
            assertThat(attacker.response(attacker.get("/hello")).status()).isEqualTo(200);
        }
    }

    @Test
    void aWindowHeldShutResetsTheStreamAfterTheFlowControlTimeout() throws Exception {
        try (Honest honest = new Honest();
             H2Client attacker = H2Client.connect(f.port(), new Http2Settings().initialWindowSize(0))) {
            attacker.returnWindow = false;
            long start = System.nanoTime();
            int big = attacker.get("/files/big.bin");
            int small = attacker.get("/hello");
            H2Client.Stream s = attacker.response(big);
            assertThat(s.status()).isEqualTo(200);
            assertThat(s.resetCode).isNotNull();
            assertThat(attacker.response(small).resetCode).as("a small response stuck the same way").isNotNull();
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat(millis).isBetween(900L, 15_000L);
            assertThat(attacker.dataReceived.get()).isZero();
        }
    }

    @Test
    void streamIdsRunningOutEndTheConnectionGracefully() throws Exception {
        try (Honest honest = new Honest(); H2Client c = H2Client.connect(f.port())) {
            int last = Integer.MAX_VALUE; // the highest client stream ID
            c.headers(last, H2Client.request("GET", "/hello"), true);
            assertThat(c.response(last).status()).isEqualTo(200);
            H2Client.GoAway g = c.awaitGoAway();
            assertThat(g.errorCode()).isEqualTo(Http2Error.NO_ERROR.code());
            assertThat(g.lastStreamId()).isEqualTo(last);
            assertThat(c.awaitClosed(10_000)).isTrue();
        }
    }

    static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
