package dev.turnpike.metrics;

import dev.turnpike.metrics.MetricsTesting.Scrape;
import dev.turnpike.server.TurnpikeServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static dev.turnpike.metrics.MetricsTesting.HTTP;
import static dev.turnpike.metrics.MetricsTesting.get;
import static dev.turnpike.metrics.MetricsTesting.port;
import static dev.turnpike.metrics.MetricsTesting.scrape;
import static org.assertj.core.api.Assertions.assertThat;

/** The /metrics handler against real traffic: exact counts, bytes, histogram, bounded labels, upstream state. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MetricsIT {
    private final List<TurnpikeServer> servers = new ArrayList<>();

    @AfterEach
    void stop() {
        for (TurnpikeServer s : servers.reversed()) {
            s.shutdown(Duration.ZERO);
        }
    }

    private TurnpikeServer start(String yaml) throws Exception {
        TurnpikeServer s = MetricsTesting.start(yaml);
        servers.add(s);
        return s;
    }

    /** An upstream: /a/ok answers 200 "ok-body\n", /slow answers after a while, anything else 404. */
    private TurnpikeServer upstream() throws Exception {
        return start("""
                listen: "127.0.0.1:0"
                access_log: off
                sites:
                  - routes:
                      - { path: /a/ok, respond: "ok-body\\n" }
                      - { path: /health, respond: "ok\\n" }
                """);
    }

    @Test
    void countsBytesAndLatencyMatchTheTrafficSent() throws Exception {
        TurnpikeServer up = upstream();
        TurnpikeServer edge = start("""
                listeners:
                  - { address: "127.0.0.1:0", name: edge }
                access_log: off
                sites:
                  - name: shop
                    routes:
                      - { name: a, path: /a/*, proxy: "http://127.0.0.1:%d" }
                      - { name: b, path: /b, respond: "bee\\n" }
                      - { path: /c, respond: 204 }
                      - { name: metrics, path: /metrics, respond: 204 }
                """.formatted(port(up)));
        long expectedOut = 0;
        for (int i = 0; i < 37; i++) {
            HttpResponse<String> r = get(edge, i < 5 ? "/a/missing-" + i : "/a/ok");
            assertThat(r.statusCode()).isEqualTo(i < 5 ? 404 : 200);
            expectedOut += r.body().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        }
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port(edge) + "/b"))
                    .POST(HttpRequest.BodyPublishers.ofString("x".repeat(100))).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
        }
        assertThat(get(edge, "/c").statusCode()).isEqualTo(204);
        assertThat(get(edge, "/nothing-here-but-it-is-a-prefix-miss").statusCode()).isEqualTo(404);

        Scrape m = scrape(edge, "/metrics");
        String[] a = {"listener", "edge", "site", "shop", "route", "a", "cluster", ""};
        assertThat(m.sum("turnpike_requests_total", with(a, "status", "2xx"))).isEqualTo(32);
        assertThat(m.sum("turnpike_requests_total", with(a, "status", "4xx"))).isEqualTo(5);
        assertThat(m.find("turnpike_requests_total", "route", "a")).hasSize(2);
        assertThat(m.sum("turnpike_request_duration_seconds_count", with(a, "status", "2xx"))).isEqualTo(32);
        assertThat(m.sum("turnpike_request_duration_seconds_bucket", with(a, "status", "2xx", "le", "+Inf")))
                .isEqualTo(32);
        assertThat(m.sum("turnpike_request_duration_seconds_sum", a)).isPositive();
        assertThat(m.sum("turnpike_response_body_bytes_total", a)).isEqualTo(expectedOut);
        assertThat(m.sum("turnpike_request_body_bytes_total", "listener", "edge")).isEqualTo(300);
        assertThat(m.sum("turnpike_response_body_bytes_total", "route", "b")).isEqualTo(3 * "bee\n".length());
        assertThat(m.sum("turnpike_requests_total", "route", "b", "status", "2xx")).isEqualTo(3);
        // an unnamed route has its generated name; a request no route answers has an empty route
        assertThat(m.sum("turnpike_requests_total", "site", "shop", "route", "shop#2", "status", "2xx")).isEqualTo(1);
        assertThat(m.sum("turnpike_requests_total", "route", "", "status", "4xx")).isEqualTo(1);
        // connections: the client keeps its connection, and the limiter counted it
        assertThat(m.sum("turnpike_connections_accepted_total", "listener", "edge")).isGreaterThanOrEqualTo(1);
        assertThat(m.sum("turnpike_connections_active", "listener", "edge")).isGreaterThanOrEqualTo(1);
        // JVM and Netty memory
        assertThat(m.find("jvm_memory_used_bytes")).isNotEmpty();
        assertThat(m.find("jvm_gc_collection_seconds_count")).isNotEmpty();
        assertThat(m.find("jvm_buffer_pool_used_bytes", "pool", "direct")).isNotEmpty();
        // left out on purpose: its GC listener delays the end of young collections (Metrics.JVM)
        assertThat(m.text()).doesNotContain("jvm_memory_pool_allocated_bytes");
        assertThat(m.find("turnpike_netty_allocator_used_bytes", "kind", "direct")).hasSize(1);

        // a later scrape counts the scrape itself, on the metrics route
        Scrape again = scrape(edge, "/metrics");
        assertThat(again.sum("turnpike_requests_total", "route", "metrics", "status", "2xx")).isEqualTo(1);
        assertThat(again.sum("turnpike_requests_total", with(a, "status", "2xx"))).isEqualTo(32);
    }

    @Test
    void distinctPathsAndHostsDoNotMakeSeries() throws Exception {
        TurnpikeServer edge = start("""
                listen: "127.0.0.1:0"
                access_log: off
                sites:
                  - name: any
                    routes:
                      - { name: files, path: /files/*, respond: "f\\n" }
                      - { name: metrics, path: /metrics, respond: 204 }
                """);
        try (var client = dev.turnpike.testing.RawClient.connect(port(edge))) {
            for (int i = 0; i < 1000; i++) {
                client.send("GET /files/" + i + "/x?q=" + i + " HTTP/1.1\r\nHost: h" + i + ".example\r\n\r\n");
                assertThat(client.read().status).isEqualTo(200);
            }
            for (int i = 0; i < 1000; i++) {
                client.send("GET /other/" + i + " HTTP/1.1\r\nHost: x\r\n\r\n");
                assertThat(client.read().status).isEqualTo(404);
            }
        }
        Scrape m = scrape(edge, "/metrics");
        assertThat(m.find("turnpike_requests_total", "route", "files")).hasSize(1);
        assertThat(m.sum("turnpike_requests_total", "route", "files")).isEqualTo(1000);
        assertThat(m.find("turnpike_requests_total")).hasSize(2); // files 2xx, no route 4xx
        assertThat(m.find("turnpike_request_duration_seconds_bucket")).hasSize(2 * (Metrics.LATENCY_BUCKETS.length + 1));
        assertThat(m.text()).doesNotContain("/files/1").doesNotContain("h1.example").doesNotContain("/other/");
    }

    @Test
    void upstreamHealthRetriesEjectionsAndPools() throws Exception {
        TurnpikeServer live = upstream();
        int dead;
        try (var s = new java.net.ServerSocket(0)) {
            dead = s.getLocalPort();
        }
        TurnpikeServer edge = start("""
                listen: "127.0.0.1:0"
                server: { event_loops: 1 }
                access_log: off
                clusters:
                  app:
                    endpoints: ["127.0.0.1:%d", "127.0.0.1:%d"]
                    load_balancing: round_robin
                    retries: { attempts: 2, on: [connect_failure] }
                    health:
                      passive: { consecutive_connect_failures: 1, max_ejection_percent: 50, base_ejection_time: 30s }
                sites:
                  - name: s
                    routes:
                      - { name: app, path: /a/*, proxy: { cluster: app } }
                      - { name: metrics, path: /metrics, respond: 204 }
                """.formatted(port(live), dead));
        for (int i = 0; i < 10; i++) {
            assertThat(get(edge, "/a/ok").statusCode()).isEqualTo(200);
        }
        String liveEp = "127.0.0.1:" + port(live);
        String deadEp = "127.0.0.1:" + dead;
        Scrape m = scrape(edge, "/metrics");
        assertThat(m.sum("turnpike_requests_total", "route", "app", "cluster", "app", "status", "2xx")).isEqualTo(10);
        assertThat(m.sum("turnpike_upstream_retries_total", "cluster", "app")).isGreaterThanOrEqualTo(1);
        assertThat(m.sum("turnpike_upstream_ejections_total", "cluster", "app", "endpoint", deadEp)).isEqualTo(1);
        assertThat(m.sum("turnpike_upstream_endpoint_ejected", "cluster", "app", "endpoint", deadEp)).isEqualTo(1);
        assertThat(m.sum("turnpike_upstream_endpoint_up", "cluster", "app", "endpoint", deadEp)).isEqualTo(0);
        assertThat(m.sum("turnpike_upstream_endpoint_up", "cluster", "app", "endpoint", liveEp)).isEqualTo(1);
        assertThat(m.sum("turnpike_upstream_attempt_failures_total", "cluster", "app", "endpoint", deadEp)).isEqualTo(1);
        assertThat(m.sum("turnpike_upstream_attempts_total", "cluster", "app", "endpoint", liveEp)).isEqualTo(10);
        // the live endpoint's connection is back in the pool, idle
        assertThat(m.sum("turnpike_upstream_pool_connections", "cluster", "app", "endpoint", liveEp, "state", "idle"))
                .isEqualTo(1);
        assertThat(m.sum("turnpike_upstream_pool_connections", "cluster", "app", "endpoint", liveEp, "state", "active"))
                .isEqualTo(0);
        assertThat(m.sum("turnpike_upstream_pool_pending", "cluster", "app")).isEqualTo(0);
        assertThat(m.sum("turnpike_upstream_requests_active", "cluster", "app")).isEqualTo(0);
        assertThat(m.find("turnpike_upstream_circuit_breaker_trips_total", "cluster", "app")).hasSize(3);
    }

    @Test
    void circuitBreakerTripsAreCounted() throws Exception {
        // An upstream that accepts and never answers: the first request holds the cluster's one request slot.
        java.net.ServerSocket silent = new java.net.ServerSocket(0);
        List<java.net.Socket> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    accepted.add(silent.accept());
                }
            } catch (java.io.IOException closed) {
                // the test is over
            }
        });
        TurnpikeServer edge = start("""
                listen: "127.0.0.1:0"
                access_log: off
                clusters:
                  app:
                    endpoints: ["127.0.0.1:%d"]
                    limits: { max_requests: 1 }
                sites:
                  - name: s
                    routes:
                      - { name: app, path: /a/*, proxy: { cluster: app } }
                      - { name: metrics, path: /metrics, respond: 204 }
                """.formatted(silent.getLocalPort()));
        try (silent; var holder = dev.turnpike.testing.RawClient.connect(port(edge))) {
            holder.send("GET /a/x HTTP/1.1\r\nHost: x\r\n\r\n");
            await(() -> edge.snapshot().clusters().require("app").circuitBreaker()
                    .current(dev.turnpike.upstream.cluster.CircuitBreaker.Kind.REQUESTS) == 1);
            for (int i = 0; i < 4; i++) {
                assertThat(get(edge, "/a/x").statusCode()).isEqualTo(503);
            }
            Scrape m = scrape(edge, "/metrics");
            assertThat(m.sum("turnpike_upstream_circuit_breaker_trips_total", "cluster", "app", "limit", "requests"))
                    .isEqualTo(4);
            assertThat(m.sum("turnpike_upstream_requests_active", "cluster", "app")).isEqualTo(1);
            assertThat(m.sum("turnpike_requests_total", "route", "app", "cluster", "app", "status", "5xx"))
                    .isEqualTo(4);
        } finally {
            for (java.net.Socket s : accepted) {
                s.close();
            }
        }
    }

    @Test
    void metricsAreGzippedWhenAskedAndOpenMetricsWhenAccepted() throws Exception {
        TurnpikeServer edge = start("""
                listen: "127.0.0.1:0"
                access_log: off
                sites:
                  - routes:
                      - { name: metrics, path: /metrics, respond: 204 }
                """);
        HttpResponse<byte[]> gz = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port(edge) + "/metrics"))
                .header("Accept-Encoding", "gzip").build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(gz.headers().firstValue("Content-Encoding")).hasValue("gzip");
        String text = new String(new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(gz.body()))
                .readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(text).contains("# TYPE turnpike_netty_direct_memory_used_bytes gauge");
        HttpResponse<String> om = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port(edge) + "/metrics"))
                .header("Accept", "application/openmetrics-text; version=1.0.0").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(om.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/openmetrics-text"));
        assertThat(om.body()).endsWith("# EOF\n");
        HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port(edge) + "/metrics"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
    }

    static String[] with(String[] base, String... more) {
        String[] out = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, out, base.length, more.length);
        return out;
    }

    static void await(BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met in time");
            }
            Thread.sleep(20);
        }
    }
}
