package dev.turnpike.server;

import dev.turnpike.config.ConfigException;
import dev.turnpike.config.ConfigLoader;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import dev.turnpike.logging.ServerLog;
import dev.turnpike.proxy.TestUpstream;
import dev.turnpike.reload.ReloadResult;
import dev.turnpike.testing.H2Client;
import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.WsClient;
import dev.turnpike.testing.WsUpstream;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Reloading a running server: what changes, what stays, and that nothing in flight is lost. */
class ReloadIT {
    @TempDir
    Path dir;

    private static String respond(String body) {
        return """
                listen: "127.0.0.1:0"
                access_log: off
                sites:
                  - name: main
                    routes:
                      - { name: v, path: /v, respond: "%s" }
                """.formatted(body);
    }

    @Test
    void newRequestsSeeTheNewRoutesOnTheSameConnectionAndPort() throws Exception {
        try (Reloading r = Reloading.start(dir, respond("one"));
             RawClient kept = RawClient.connect(r.port())) {
            int port = r.port();
            assertThat(Reloading.get(kept, "/v").bodyText()).isEqualTo("one");

            ReloadResult result = r.reload(respond("two"));

            assertThat(result.outcome()).isEqualTo(ReloadResult.Outcome.APPLIED);
            assertThat(result.diff().lines()).containsExactly("~ route main/v: handler.body");
            assertThat(r.port()).isEqualTo(port);
            assertThat(Reloading.get(kept, "/v").bodyText()).as("the keep-alive connection survived").isEqualTo("two");
            assertThat(Reloading.get(port, "/v").bodyText()).isEqualTo("two");
        }
    }

    @Test
    void anInvalidConfigurationIsRefusedWithValidatesMessagesAndTheOldOneServes() throws Exception {
        try (Reloading r = Reloading.start(dir, respond("one"))) {
            Snapshot before = r.server.snapshot();
            String broken = respond("two").replace("routes:", "rootes:");

            ReloadResult result = r.reload(broken);

            assertThat(result.outcome()).isEqualTo(ReloadResult.Outcome.REFUSED);
            ConfigException expected = catchThrowableOfType(ConfigException.class,
                    () -> ConfigLoader.load(r.file, Map.of()));
            assertThat(result.problems()).isEqualTo(expected.report(r.file.toString()))
                    .anyMatch(p -> p.contains("sites[0].rootes: unknown key; did you mean 'routes'?"));
            assertThat(r.server.snapshot()).isSameAs(before);
            assertThat(Reloading.get(r.port(), "/v").bodyText()).isEqualTo("one");
        }
    }

    @Test
    void listenersAreKeptAddedAndRemoved() throws Exception {
        String two = """
                listeners:
                  - { address: "127.0.0.1:0", name: a }
                  - { address: "127.0.0.1:0", name: b }
                sites:
                  - routes:
                      - respond: hello
                access_log: off
                """;
        try (Reloading r = Reloading.start(dir, two)) {
            int a = r.port(0);
            int b = r.port(1);
            try (RawClient onA = RawClient.connect(a); RawClient onB = RawClient.connect(b)) {
                assertThat(Reloading.get(onA, "/").status).isEqualTo(200);
                assertThat(Reloading.get(onB, "/").status).isEqualTo(200);

                ReloadResult result = r.reload(two.replace("name: b", "name: c"));

                assertThat(result.diff().lines()).containsExactly("- listener b", "+ listener c");
                assertThat(r.server.boundAddresses()).hasSize(2);
                assertThat(r.port(0)).isEqualTo(a);
                int c = r.port(1);
                assertThat(c).isNotEqualTo(b);
                assertThat(Reloading.get(onA, "/").status).as("a kept its connection").isEqualTo(200);
                assertThat(onB.isClosedByPeer(5_000)).as("b's idle connection was drained").isTrue();
                assertThat(Reloading.get(c, "/").bodyText()).isEqualTo("hello");
                assertThat(catchThrowableOfType(java.io.IOException.class, () -> Reloading.get(b, "/")))
                        .as("b no longer accepts").isNotNull();
            }
        }
    }

    @Test
    void aKeptListenersNewSettingsApplyToNewConnections() throws Exception {
        String yaml = """
                listeners:
                  - address: "127.0.0.1:0"
                    limits: { max_body_size: %s }
                sites:
                  - routes:
                      - respond: ok
                access_log: off
                """;
        String post = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\n" + "x".repeat(50);
        try (Reloading r = Reloading.start(dir, yaml.formatted("1KiB"));
             RawClient before = RawClient.connect(r.port())) {
            assertThat(before.send(post).read().status).isEqualTo(200);

            assertThat(r.reload(yaml.formatted("10B")).diff().lines())
                    .containsExactly("~ listener 127.0.0.1:0: limits.max_body_size");

            assertThat(before.send(post).read().status).as("an open connection keeps its limits").isEqualTo(200);
            try (RawClient after = RawClient.connect(r.port())) {
                assertThat(after.send(post).read().status).isEqualTo(413);
            }
        }
    }

    @Test
    void aPortInUseFailsTheReloadAndChangesNothing() throws Exception {
        try (Reloading r = Reloading.start(dir, respond("one"));
             ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Snapshot before = r.server.snapshot();
            String next = respond("two").replace("listen: \"127.0.0.1:0\"",
                    "listen: [\"127.0.0.1:0\", \"127.0.0.1:" + taken.getLocalPort() + "\"]");

            ReloadResult result = r.reload(next);

            assertThat(result.outcome()).isEqualTo(ReloadResult.Outcome.FAILED);
            assertThat(result.problems()).singleElement().asString()
                    .startsWith("cannot listen on 127.0.0.1:" + taken.getLocalPort())
                    .contains("in use");
            assertThat(r.server.snapshot()).isSameAs(before);
            assertThat(r.server.boundAddresses()).hasSize(1);
            assertThat(Reloading.get(r.port(), "/v").bodyText()).isEqualTo("one");
        }
    }

    @Test
    void theOldSnapshotClosesOnlyWhenItsLastExchangeIsOver() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        List<String> closed = new CopyOnWriteArrayList<>();
        HandlerFactory handlers = (route, cfg, ctx) -> {
            Handler inner = HandlerFactory.DEFAULT.create(route, cfg, ctx);
            String version = cfg.toString();
            return new Handler() {
                @Override
                public void handle(Exchange ex) {
                    if (!ex.path().equals("/slow")) {
                        inner.handle(ex);
                        return;
                    }
                    Thread.ofVirtual().start(() -> {
                        try {
                            release.await();
                        } catch (InterruptedException e) {
                            return;
                        }
                        ex.eventLoop().execute(() -> ex.respond(HttpResponseStatus.OK, "text/plain",
                                Unpooled.copiedBuffer("slow done", StandardCharsets.US_ASCII)));
                    });
                }

                @Override
                public void close() {
                    closed.add(version);
                    inner.close();
                }
            };
        };
        try (Reloading r = Reloading.start(dir, respond("one").replace("path: /v", "path: /*"), handlers);
             RawClient slow = RawClient.connect(r.port())) {
            slow.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
            waitFor(() -> r.server.snapshot().exchangesInFlight() == 1, "the slow exchange started");

            r.reload(respond("two").replace("path: /v", "path: /*"));
            assertThat(Reloading.get(r.port(), "/v").bodyText()).isEqualTo("two");
            Thread.sleep(300);
            assertThat(closed).as("the old snapshot still has an exchange").isEmpty();

            release.countDown();
            RawClient.Response done = slow.read();
            assertThat(done.bodyText()).isEqualTo("slow done");
            waitFor(() -> closed.size() == 1, "the old snapshot closed");
            assertThat(closed.getFirst()).contains("one");
            assertThat(Reloading.get(slow, "/v").bodyText()).as("the connection carries on, on the new snapshot")
                    .isEqualTo("two");
        }
    }

    @Test
    void anUnchangedClusterKeepsItsConnectionsAndHealth() throws Exception {
        try (TestUpstream up = Reloading.upstream()) {
            String yaml = """
                    server: { event_loops: 1 }
                    listen: "127.0.0.1:0"
                    access_log: off
                    clusters:
                      app:
                        endpoints: ["127.0.0.1:%d"]
                        retries: { attempts: %d }
                        pool: { max_idle: %d }
                    sites:
                      - name: main
                        routes:
                          - { name: api, path: /api/*, proxy: { cluster: app } }
                          - { name: other, path: /other, respond: "%s" }
                    """;
            try (Reloading r = Reloading.start(dir, yaml.formatted(up.port(), 1, 8, "a"));
                 RawClient c = RawClient.connect(r.port())) {
                assertThat(Reloading.get(c, "/api/x").bodyText()).isEqualTo("up:/api/x");
                assertThat(up.connections).hasValue(1);

                r.reload(yaml.formatted(up.port(), 1, 8, "b"));
                assertThat(Reloading.get(c, "/api/x").bodyText()).isEqualTo("up:/api/x");
                assertThat(up.connections).as("another route changed: same upstream connection").hasValue(1);

                assertThat(r.reload(yaml.formatted(up.port(), 2, 8, "b")).diff().lines())
                        .containsExactly("~ cluster app: retries.attempts");
                assertThat(Reloading.get(c, "/api/x").bodyText()).isEqualTo("up:/api/x");
                assertThat(up.connections).as("only the retries changed: pools carried over").hasValue(1);

                r.reload(yaml.formatted(up.port(), 2, 4, "b"));
                assertThat(Reloading.get(c, "/api/x").bodyText()).isEqualTo("up:/api/x");
                assertThat(up.connections).as("the pool settings changed: a new pool").hasValue(2);
                waitFor(() -> up.openConnections.get() == 1, "the old cluster's idle connection was closed");
            }
        }
    }

    @Test
    void streamsOnUntouchedRoutesCompleteAndOnChangedRoutesEndAfterTheGrace() throws Exception {
        try (TestUpstream up = Reloading.upstream()) {
            String yaml = """
                    server: { reload_grace: 1500ms }
                    listen: "127.0.0.1:0"
                    access_log: off
                    sites:
                      - name: main
                        routes:
                          - { name: feed, path: /stream, proxy: "%s" }
                          - name: events
                            path: /events/*
                            proxy: { upstream: "%s", strip_prefix: /events, set_headers: { X-Version: "%s" } }
                    """;
            try (Reloading r = Reloading.start(dir, yaml.formatted(up.url(), up.url(), "1"));
                 Reloading.Stream untouched = new Reloading.Stream(r.port(), "/stream?n=25&ms=100");
                 Reloading.Stream changed = new Reloading.Stream(r.port(), "/events/stream?n=60&ms=100")) {
                waitFor(() -> untouched.received() > 100 && changed.received() > 100, "both streams flowing");

                long reloadedAt = System.nanoTime();
                assertThat(r.reload(yaml.formatted(up.url(), up.url(), "2")).diff().lines())
                        .containsExactly("~ route main/events: handler.set_headers.X-Version");
                int beforeGrace = changed.received();
                Thread.sleep(1000);
                assertThat(changed.ended()).as("still within the grace period").isFalse();
                assertThat(changed.received()).as("and still receiving").isGreaterThan(beforeGrace);

                changed.await(Duration.ofSeconds(10));
                long cutAfter = TimeUnit.NANOSECONDS.toMillis(changed.endedAt - reloadedAt);
                assertThat(cutAfter).as("closed after the grace period, well before its natural end")
                        .isBetween(1450L, 4000L);
                assertThat(changed.complete()).isFalse();

                untouched.await(Duration.ofSeconds(10));
                assertThat(untouched.complete()).isTrue();
                assertThat(untouched.body()).isEqualTo(Reloading.streamBody(25));
            }
        }
    }

    @Test
    void overHttp2OnlyTheStreamOnAChangedRouteIsResetAfterTheGrace() throws Exception {
        try (TestUpstream up = Reloading.upstream()) {
            String yaml = """
                    server: { reload_grace: 1500ms }
                    listen: "127.0.0.1:0"
                    access_log: off
                    sites:
                      - name: main
                        routes:
                          - { name: feed, path: /stream, proxy: "%s" }
                          - name: events
                            path: /events/*
                            proxy: { upstream: "%s", strip_prefix: /events, set_headers: { X-Version: "%s" } }
                    """;
            try (Reloading r = Reloading.start(dir, yaml.formatted(up.url(), up.url(), "1"));
                 H2Client h2 = H2Client.connect(r.port())) {
                int untouched = h2.get("/stream?n=25&ms=100");
                int changed = h2.get("/events/stream?n=60&ms=100");
                waitFor(() -> h2.streams.containsKey(untouched) && h2.streams.containsKey(changed)
                        && h2.streams.get(untouched).bodyBytes().length > 0
                        && h2.streams.get(changed).bodyBytes().length > 0, "both streams flowing");

                long asked = System.nanoTime();
                assertThat(r.reload(yaml.formatted(up.url(), up.url(), "2")).applied()).isTrue();
                H2Client.Stream cut = h2.streams.get(changed).done.get(10, TimeUnit.SECONDS);
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - asked)).isGreaterThanOrEqualTo(1450);
                assertThat(cut.resetCode).as("reset: %s", cut).isNotNull();

                H2Client.Stream whole = h2.streams.get(untouched).done.get(10, TimeUnit.SECONDS);
                assertThat(whole.resetCode).isNull();
                assertThat(whole.bodyText()).isEqualTo(Reloading.streamBody(25));
                assertThat(h2.closed).as("the connection carries on").isNotDone();
                int after = h2.get("/stream?n=1&ms=1");
                assertThat(h2.streams.get(after).done.get(10, TimeUnit.SECONDS).bodyText())
                        .isEqualTo(Reloading.streamBody(1));
                waitFor(() -> r.server.retiringSnapshots() == 0, "the replaced snapshot closed");
            }
        }
    }

    @Test
    void aWebSocketOnAChangedRouteIsToldToGoAwayAfterTheGraceAndOthersStay() throws Exception {
        try (WsUpstream up = WsUpstream.start("chat")) {
            String yaml = """
                    server: { reload_grace: 1500ms }
                    listen: "127.0.0.1:0"
                    access_log: off
                    sites:
                      - name: main
                        routes:
                          - { name: chat, path: /ws, proxy: "http://%s" }
                          - name: room
                            path: /room/*
                            proxy: { upstream: "http://%s", strip_prefix: /room, set_headers: { X-Version: "%s" } }
                    """;
            try (Reloading r = Reloading.start(dir, yaml.formatted(up.address(), up.address(), "1"));
                 WsClient untouched = WsClient.connect(r.port(), "/ws");
                 WsClient changed = WsClient.connect(r.port(), "/room/ws")) {
                assertThat(untouched.sendText("a").nextData().text()).isEqualTo("a");
                assertThat(changed.sendText("b").nextData().text()).isEqualTo("b");

                long asked = System.nanoTime();
                assertThat(r.reload(yaml.formatted(up.address(), up.address(), "2")).diff().lines())
                        .containsExactly("~ route main/room: handler.set_headers.X-Version");
                Thread.sleep(500);
                assertThat(changed.sendText("still").nextData().text()).as("within the grace period").isEqualTo("still");

                WsClient.Frame bye = changed.nextData();
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - asked)).isGreaterThanOrEqualTo(1450);
                assertThat(bye.type()).isEqualTo("close");
                assertThat(bye.closeCode()).as("going away, not a cut").isEqualTo(1001);
                assertThat(changed.awaitClosed(10_000)).isTrue();

                assertThat(untouched.sendText("c").nextData().text()).as("an untouched route's socket stays")
                        .isEqualTo("c");
            }
        }
    }

    @Test
    void aSlowUploadOnAnUntouchedRouteCompletesAcrossReloads() throws Exception {
        try (TestUpstream up = TestUpstream.start((req, conn) -> {
            String body = "got " + req.readBody().length;
            conn.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
            return true;
        })) {
            String yaml = """
                    listen: "127.0.0.1:0"
                    access_log: off
                    sites:
                      - name: main
                        routes:
                          - { name: upload, path: /upload, proxy: "%s" }
                          - { name: v, path: /v, respond: "%s" }
                    """;
            try (Reloading r = Reloading.start(dir, yaml.formatted(up.url(), "one"));
                 RawClient c = RawClient.connect(r.port())) {
                c.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
                for (int i = 0; i < 10; i++) {
                    c.send("400\r\n" + "x".repeat(1024) + "\r\n");
                    if (i == 3 || i == 6) {
                        assertThat(r.reload(yaml.formatted(up.url(), "v" + i)).applied()).isTrue();
                    }
                    Thread.sleep(50);
                }
                RawClient.Response resp = c.send("0\r\n\r\n").read();
                assertThat(resp.status).isEqualTo(200);
                assertThat(resp.bodyText()).isEqualTo("got 10240");
                assertThat(Reloading.get(c, "/v").bodyText()).isEqualTo("v6");
            }
        }
    }

    @Test
    void watchedFilesAreReloadedWhenTheyChange() throws Exception {
        String yaml = "server: { watch_config: true }\n" + respond("one");
        try (Reloading r = Reloading.start(dir, yaml)) {
            Files.writeString(r.file, yaml.replace("one", "two"));
            waitFor(() -> {
                try {
                    return Reloading.get(r.port(), "/v").bodyText().equals("two");
                } catch (java.io.IOException e) {
                    return false;
                }
            }, "the change was picked up");
            Files.writeString(r.file, yaml.replace("one", "three").replace("routes:", "rootes:"));
            Thread.sleep(2000);
            assertThat(Reloading.get(r.port(), "/v").bodyText()).as("an invalid change is refused").isEqualTo("two");
        }
    }

    @Test
    void theLogFormatFollowsTheConfiguration() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv(ServerLog.FORMAT_VARIABLE) == null,
                "TURNPIKE_LOG_FORMAT is set, and it wins over the configuration");
        try (Reloading r = Reloading.start(dir, respond("one"))) {
            assertThat(ServerLog.format()).contains(ServerLog.Format.TEXT);
            r.reload("server: { log_format: json }\n" + respond("one"));
            assertThat(ServerLog.format()).contains(ServerLog.Format.JSON);
            r.reload(respond("one"));
            assertThat(ServerLog.format()).contains(ServerLog.Format.TEXT);
        } finally {
            ServerLog.useFormat(ServerLog.Format.TEXT, Map.of());
        }
    }

    static void waitFor(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }
}
