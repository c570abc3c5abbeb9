package dev.turnpike.server;

import dev.turnpike.proxy.TestUpstream;
import dev.turnpike.reload.ReloadResult;
import dev.turnpike.testing.RawClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.turnpike.server.ReloadIT.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fifty reloads, through the admin API and the path SIGHUP takes, some changing routes, some invalid, while clients
 * send requests on keep-alive and on new connections from several threads and long responses stream: not one request
 * may fail, the streams on untouched routes complete intact, and a stream on a route that changed is cut only after
 * the grace period.
 */
class ReloadUnderLoadIT {
    private static final String TOKEN = "load-test-token-0123456789";
    private static final long GRACE_MS = 2500;
    private static final int RELOADS = 50;

    @TempDir
    Path dir;

    private static String config(int version, boolean valid, boolean extraRoute, int apiPort, int streamPort) {
        return """
                server: { reload_grace: %dms }
                listen: "127.0.0.1:0"
                access_log: off
                admin: { address: "127.0.0.1:0", token: %s }
                clusters:
                  app: { endpoints: ["127.0.0.1:%d"] }
                sites:
                  - name: main
                    routes:
                      - { name: version, path: /v, respond: "v%d" }
                      - { name: api, path: /api/*, proxy: { cluster: app } }
                      - { name: feed, path: /stream, proxy: "http://127.0.0.1:%d" }
                      - name: events
                        path: /events/*
                        proxy: { upstream: "http://127.0.0.1:%d", strip_prefix: /events, set_headers: { X-Version: "%d" } }
                %s%s
                """.formatted(GRACE_MS, TOKEN, apiPort, version, streamPort, streamPort, version,
                extraRoute ? "      - { name: extra, path: /extra, respond: extra }\n" : "",
                valid ? "" : "      - { name: broken, path: /broken, respnd: oops }\n");
    }

    @Test
    void fiftyReloadsUnderLoadLoseNothing() throws Exception {
        try (TestUpstream api = Reloading.upstream();
             TestUpstream streams = Reloading.upstream();
             Reloading r = Reloading.start(dir, config(0, true, false, api.port(), streams.port()));
             HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            int port = r.port();
            String admin = "http://127.0.0.1:" + r.server.adminAddress().orElseThrow().getPort();
            Queue<String> failures = new ConcurrentLinkedQueue<>();
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger requests = new AtomicInteger();
            List<Thread> clients = new ArrayList<>();

            // Keep-alive clients: one connection each for the whole test.
            for (int t = 0; t < 4; t++) {
                int id = t;
                clients.add(Thread.ofPlatform().daemon().start(() -> {
                    try (RawClient c = RawClient.connect(port)) {
                        for (int i = 0; running.get(); i++) {
                            String path = i % 2 == 0 ? "/api/k" + id + "/" + i : "/v";
                            check(Reloading.get(c, path), path, failures, "keep-alive " + id);
                            requests.incrementAndGet();
                        }
                    } catch (Exception e) {
                        failures.add("keep-alive " + id + ": " + e);
                    }
                }));
            }
            // New-connection clients: one request per connection.
            for (int t = 0; t < 2; t++) {
                int id = t;
                clients.add(Thread.ofPlatform().daemon().start(() -> {
                    for (int i = 0; running.get(); i++) {
                        String path = i % 2 == 0 ? "/api/n" + id + "/" + i : "/v";
                        try {
                            check(Reloading.get(port, path), path, failures, "new-connection " + id);
                            requests.incrementAndGet();
                        } catch (Exception e) {
                            failures.add("new-connection " + id + " " + path + ": " + e);
                        }
                    }
                }));
            }
            // Long responses on a route no reload touches, and one on a route every valid reload changes.
            List<Reloading.Stream> untouched = new ArrayList<>();
            for (int s = 0; s < 3; s++) {
                untouched.add(new Reloading.Stream(port, "/stream?n=60&ms=100"));
            }
            Reloading.Stream changed = new Reloading.Stream(port, "/events/stream?n=400&ms=50");
            waitFor(() -> untouched.stream().allMatch(s -> s.received() > 100) && changed.received() > 100,
                    "the streams flowing");

            long firstChange = 0;
            int applied = 0;
            int refused = 0;
            for (int i = 1; i <= RELOADS; i++) {
                boolean valid = i % 5 != 0;
                Files.writeString(r.file, config(i, valid, i % 7 == 0, api.port(), streams.port()));
                // Before the reload is asked for: its grace period cannot start earlier.
                long asked = System.nanoTime();
                ReloadResult.Outcome outcome;
                if (i % 2 == 0) {
                    HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create(admin + "/reload"))
                            .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.noBody())
                            .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
                    outcome = resp.statusCode() == 200 ? ReloadResult.Outcome.APPLIED
                            : resp.statusCode() == 422 ? ReloadResult.Outcome.REFUSED : ReloadResult.Outcome.FAILED;
                    if (!valid) {
                        assertThat(resp.body()).contains("respnd: unknown key; did you mean 'respond'?");
                    }
                } else {
                    // What the SIGHUP handler runs.
                    outcome = r.server.reload("SIGHUP").get(30, TimeUnit.SECONDS).outcome();
                }
                assertThat(outcome).as("reload %d", i)
                        .isEqualTo(valid ? ReloadResult.Outcome.APPLIED : ReloadResult.Outcome.REFUSED);
                if (valid) {
                    applied++;
                    if (firstChange == 0) {
                        firstChange = asked;
                    }
                } else {
                    refused++;
                }
                Thread.sleep(40);
            }
            assertThat(applied).isEqualTo(40);
            assertThat(refused).isEqualTo(10);
            assertThat(Reloading.get(port, "/v").bodyText()).isEqualTo("v49");

            for (Reloading.Stream s : untouched) {
                s.await(Duration.ofSeconds(30));
                assertThat(s.complete()).as("an untouched stream completed").isTrue();
                assertThat(s.body()).isEqualTo(Reloading.streamBody(60));
            }
            changed.await(Duration.ofSeconds(30));
            assertThat(changed.complete()).as("the stream on a changed route was cut").isFalse();
            assertThat(TimeUnit.NANOSECONDS.toMillis(changed.endedAt - firstChange))
                    .as("... only after the grace period").isGreaterThanOrEqualTo(GRACE_MS - 50);

            running.set(false);
            for (Thread t : clients) {
                t.join(30_000);
            }
            System.out.printf("%d reloads under load: %d requests, %d failed;"
                    + " %d upstream connections to the unchanged cluster%n", RELOADS, requests.get(), failures.size(),
                    api.connections.get());
            assertThat(failures).as("failed requests").isEmpty();
            assertThat(requests.get()).as("requests made during the reloads").isGreaterThan(200);
            assertThat(api.connections.get()).as("the unchanged cluster kept its upstream connections")
                    .isLessThan(20);
            waitFor(() -> r.server.retiringSnapshots() == 0, "every replaced snapshot closed");
        }
    }

    private static void check(RawClient.Response resp, String path, Queue<String> failures, String who) {
        String body = resp.bodyText();
        boolean ok = resp.status == 200 && (path.equals("/v") ? body.matches("v\\d+") : body.equals("up:" + path));
        if (!ok) {
            failures.add(who + " " + path + ": " + resp.status + " " + body);
        }
    }
}
