package dev.turnpike.server;

import dev.turnpike.proxy.TestUpstream;
import dev.turnpike.testing.H2Client;
import io.netty.handler.codec.http2.Http2Error;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A reload with HTTP/2 clients: streams on a route the reload changed are reset when the grace period ends, while
 * the other streams of the same connection, and the connection, go on.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Http2ReloadIT {
    @TempDir
    Path dir;

    @Test
    void onlyTheStreamsOfChangedRoutesEndAfterTheGrace() throws Exception {
        try (TestUpstream up = Reloading.upstream()) {
            String url = up.url();
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
            try (Reloading r = Reloading.start(dir, yaml.formatted(url, url, "1"));
                 H2Client c = H2Client.connect(r.port())) {
                int untouched = c.get("/stream?n=25&ms=100");
                int changed = c.get("/events/stream?n=60&ms=100");
                waitFor(() -> c.stream(untouched).bodyBytes().length > 50 && c.stream(changed).bodyBytes().length > 50);

                long reloadedAt = System.nanoTime();
                assertThat(r.reload(yaml.formatted(url, url, "2")).diff().lines())
                        .containsExactly("~ route main/events: handler.set_headers.X-Version");
                Thread.sleep(1000);
                assertThat(c.stream(changed).done).as("still within the grace period").isNotDone();

                H2Client.Stream cut = c.response(changed);
                long cutAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - reloadedAt);
                assertThat(cut.resetCode).isEqualTo(Http2Error.CANCEL.code());
                assertThat(cutAfter).as("reset after the grace period, well before its natural end")
                        .isBetween(1450L, 4500L);

                H2Client.Stream whole = c.response(untouched);
                assertThat(whole.resetCode).isNull();
                assertThat(whole.bodyText()).isEqualTo(Reloading.streamBody(25));
                assertThat(c.response(c.get("/events/x")).bodyText()).as("same connection, new configuration")
                        .isEqualTo("up:/x");
                assertThat(c.goAway).isNotDone();
            }
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("timed out");
            }
            Thread.sleep(20);
        }
    }
}
