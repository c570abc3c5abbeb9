package dev.turnpike.metrics;

import dev.turnpike.server.TurnpikeServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.turnpike.metrics.MetricsTesting.HTTP;
import static dev.turnpike.metrics.MetricsTesting.get;
import static dev.turnpike.metrics.MetricsTesting.port;
import static org.assertj.core.api.Assertions.assertThat;

/** The dashboard's page, assets and event stream over HTTP (the browser test draws them: DashboardBrowserIT). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DashboardIT {
    private final List<TurnpikeServer> servers = new ArrayList<>();

    @AfterEach
    void stop() {
        for (TurnpikeServer s : servers.reversed()) {
            s.shutdown(Duration.ZERO);
        }
    }

    private TurnpikeServer edge() throws Exception {
        TurnpikeServer s = MetricsTesting.start("""
                listen: "127.0.0.1:0"
                access_log: off
                sites:
                  - name: shop
                    routes:
                      - { name: hello, path: /hello, respond: "hi\\n" }
                      - { name: dashboard-root, path: /ops/dashboard, respond: 204 }
                      - { name: dashboard, path: /ops/dashboard/*, respond: 204 }
                """);
        servers.add(s);
        return s;
    }

    @Test
    void servesThePageAndItsAssetsWhereverItIsMounted() throws Exception {
        TurnpikeServer s = edge();
        HttpResponse<String> redirect = get(s, "/ops/dashboard?token=abc");
        assertThat(redirect.statusCode()).isEqualTo(308);
        assertThat(redirect.headers().firstValue("Location")).hasValue("/ops/dashboard/?token=abc");
        HttpResponse<String> page = get(s, "/ops/dashboard/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(page.headers().firstValue("Content-Security-Policy")).hasValueSatisfying(
                v -> assertThat(v).contains("script-src 'self'"));
        // nothing from another origin: every script and style sheet is relative
        assertThat(page.body()).contains("src=\"dashboard.js\"").contains("href=\"dashboard.css\"")
                .doesNotContain("http://").doesNotContain("https://").doesNotContain("//cdn");
        assertThat(get(s, "/ops/dashboard/dashboard.js").headers().firstValue("Content-Type"))
                .hasValue("text/javascript; charset=utf-8");
        assertThat(get(s, "/ops/dashboard/dashboard.js").body()).contains("new EventSource('events'");
        assertThat(get(s, "/ops/dashboard/dashboard.css").statusCode()).isEqualTo(200);
    }

    @Test
    void theEventStreamSendsHistoryThenOneSampleASecondWithTheTrafficSeen() throws Exception {
        TurnpikeServer s = edge();
        for (int i = 0; i < 20; i++) {
            assertThat(get(s, "/hello").statusCode()).isEqualTo(200);
        }
        HttpResponse<java.io.InputStream> r = HTTP.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port(s) + "/ops/dashboard/events")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/event-stream; charset=utf-8");
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            assertThat(in.readLine()).isEqualTo("retry: 2000");
            assertThat(in.readLine()).isEqualTo("event: history");
            assertThat(in.readLine()).startsWith("data: {\"samples\":[").contains("\"clusters\":[]");
            assertThat(in.readLine()).isEmpty();
            // Keep sending until a sample reports the route (the first sample after start only sets the baseline).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            String seen = null;
            while (seen == null && System.nanoTime() < deadline) {
                assertThat(get(s, "/hello").statusCode()).isEqualTo(200);
                assertThat(in.readLine()).isEqualTo("event: sample");
                String data = in.readLine();
                assertThat(data).startsWith("data: {\"sample\":{\"t\":");
                assertThat(in.readLine()).isEmpty();
                if (data.contains("\"route\":\"hello\"")) {
                    seen = data;
                }
            }
            assertThat(seen).isNotNull().contains("\"site\":\"shop\"").containsPattern("\"rps\":[1-9]");
        }
    }

    @Test
    void quantilesInterpolateWithinTheirBucket() {
        long[] d = new long[3 + Metrics.LATENCY_BUCKETS.length + 1];
        d[3 + 4] = 100; // all in (5ms, 10ms]
        assertThat(Dashboard.quantile(0.5, d)).isEqualTo(7.5, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(Dashboard.quantile(0.99, d)).isEqualTo(9.95, org.assertj.core.data.Offset.offset(1e-9));
        d[3 + Metrics.LATENCY_BUCKETS.length] = 100; // half beyond the last bound
        assertThat(Dashboard.quantile(0.99, d)).isEqualTo(10_000);
        assertThat(Dashboard.quantile(0.5, new long[d.length])).isZero();
    }
}
