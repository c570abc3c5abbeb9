package dev.turnpike.http2;

import dev.turnpike.http.Handler;
import dev.turnpike.server.Fixture;
import dev.turnpike.testing.H2Client;
import dev.turnpike.testing.RawClient;
import io.netty.handler.codec.http2.Http2Error;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How HTTP/2 connections end: graceful shutdown, idle and request timeouts, and the preface detector. */
class Http2LifecycleIT {
    static final String YAML = """
            listeners:
              - address: "127.0.0.1:0"
                timeouts: { request_head: 1s, request_body: 1s, keep_alive: 1s }
            access_log: off
            sites:
              - routes:
                  - {name: slow, path: /slow, respond: "replaced"}
                  - {name: echo, path: /echo, respond: "replaced"}
                  - {path: /hello, respond: "hello"}
            """;

    static Fixture start() throws Exception {
        return start(YAML);
    }

    static Fixture start(String yaml) throws Exception {
        return Fixture.start(yaml, Map.<String, Supplier<Handler>>of(
                "slow", () -> new Fixture.Slow(700), "echo", Fixture.Echo::new));
    }

    @Test
    void shutdownSendsGoAwayAndLetsTheStreamInFlightFinish() throws Exception {
        try (Fixture f = start(); H2Client c = H2Client.connect(f.port())) {
            assertThat(c.response(c.get("/hello")).status()).isEqualTo(200);
            int slow = c.get("/slow");
            Thread.sleep(100);
            long start = System.nanoTime();
            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> f.shutdown(Duration.ofSeconds(10)));
            H2Client.GoAway g = c.awaitGoAway();
            assertThat(g.errorCode()).isEqualTo(Http2Error.NO_ERROR.code());
            assertThat(g.lastStreamId()).isEqualTo(slow);
            H2Client.Stream s = c.response(slow);
            assertThat(s.status()).isEqualTo(200);
            assertThat(s.bodyText()).isEqualTo("slow");
            assertThat(c.awaitClosed(5_000)).isTrue();
            shutdown.get(10, TimeUnit.SECONDS);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(5_000);
            assertThatThrownBy(() -> RawClient.connect(f.port())).isInstanceOf(ConnectException.class);
        }
    }

    @Test
    void shutdownClosesAConnectionWhoseStreamOutlastsTheTimeout() throws Exception {
        // A stream answered after a minute: the graceful close (GOAWAY, then wait for the streams) would wait for
        // it; at the shutdown deadline the connection is closed anyway.
        try (Fixture f = Fixture.start(YAML, Map.<String, Supplier<Handler>>of(
                "slow", () -> new Fixture.Slow(60_000), "echo", Fixture.Echo::new));
             H2Client c = H2Client.connect(f.port())) {
            int slow = c.get("/slow");
            Thread.sleep(100);
            long start = System.nanoTime();
            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> f.shutdown(Duration.ofMillis(500)));
            assertThat(c.awaitGoAway().lastStreamId()).isEqualTo(slow);
            shutdown.get(15, TimeUnit.SECONDS);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(10_000);
            assertThat(c.awaitClosed(5_000)).as("the connection is closed at the deadline").isTrue();
            assertThat(c.stream(slow).status()).as("the stream never got its answer").isZero();
        }
    }

    @Test
    void anIdleConnectionGetsGoAwayAfterKeepAlive() throws Exception {
        try (Fixture f = start(); H2Client c = H2Client.connect(f.port())) {
            assertThat(c.response(c.get("/hello")).status()).isEqualTo(200);
            long start = System.nanoTime();
            H2Client.GoAway g = c.awaitGoAway();
            assertThat(g.errorCode()).isEqualTo(Http2Error.NO_ERROR.code());
            assertThat(c.awaitClosed(5_000)).isTrue();
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(700L, 8_000L);
        }
    }

    @Test
    void aConnectionWithoutAStreamIsClosedAfterTheRequestHeadTimeout() throws Exception {
        try (Fixture f = start(); H2Client c = H2Client.connect(f.port())) {
            assertThat(c.awaitGoAway().errorCode()).isEqualTo(Http2Error.NO_ERROR.code());
            assertThat(c.awaitClosed(5_000)).isTrue();
        }
    }

    @Test
    void aStreamWaitingForItsBodyLongerThanRequestBodyGets408() throws Exception {
        try (Fixture f = start(); H2Client c = H2Client.connect(f.port())) {
            int id = c.send(H2Client.request("POST", "/echo"), false);
            c.data(id, "part".getBytes(StandardCharsets.US_ASCII), false);
            H2Client.Stream s = c.response(id);
            assertThat(s.status()).isEqualTo(408);
            Http2MalformedIT.waitFor(() -> s.resetCode != null);
            assertThat(s.resetCode).isEqualTo(Http2Error.NO_ERROR.code());
        }
    }

    @Test
    void aSilentOrStalledPrefaceIsClosedAfterTheRequestHeadTimeout() throws Exception {
        try (Fixture f = start(); RawClient silent = f.connect(); RawClient partial = f.connect()) {
            partial.send("PRI * HTTP/2.0\r\n");
            assertThat(silent.isClosedByPeer(5_000)).isTrue();
            assertThat(partial.isClosedByPeer(5_000)).isTrue();
        }
    }

    @Test
    void withHttp2DisabledThePrefaceIsNotHttp2() throws Exception {
        try (Fixture f = start(YAML.replace("keep_alive: 1s }", "keep_alive: 1s }\n    http2: { enabled: false }"));
             H2Client c = H2Client.connect(f.port())) {
            assertThat(c.serverSettings).isNotDone();
            assertThat(c.awaitClosed(5_000)).isTrue();
            assertThat(c.serverSettings).isNotDone();
        }
    }
}
