package dev.turnpike.metrics;

import dev.turnpike.metrics.MetricsTesting.Scrape;
import dev.turnpike.server.TurnpikeServer;
import dev.turnpike.testing.H2Client;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static dev.turnpike.metrics.MetricsTesting.port;
import static dev.turnpike.metrics.MetricsTesting.scrape;
import static org.assertj.core.api.Assertions.assertThat;

/** HTTP/2 exchanges are counted like HTTP/1.1 ones, and the listener's streams are counted too. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Http2MetricsIT {

    @Test
    void streamsRequestsAndBodyBytesAreCounted() throws Exception {
        TurnpikeServer s = MetricsTesting.start("""
                listeners:
                  - { address: "127.0.0.1:0", name: edge }
                access_log: off
                sites:
                  - name: shop
                    routes:
                      - { name: b, path: /b, respond: "bee\\n" }
                      - { name: metrics, path: /metrics, respond: 204 }
                """);
        try (H2Client c = H2Client.connect(port(s))) {
            for (int i = 0; i < 7; i++) {
                assertThat(c.response(c.get("/b")).bodyText()).isEqualTo("bee\n");
            }
            // HEADERS and DATA in one write: this route answers without reading the body, and DATA that comes
            // after the answer is dropped with the stream (counted by flow control, not as request body).
            int post;
            synchronized (c) {
                c.cork();
                post = c.send(H2Client.request("POST", "/b"), false);
                c.data(post, new byte[120], true);
                c.uncork();
            }
            assertThat(c.response(post).status()).isEqualTo(200);
            assertThat(c.response(c.get("/missing")).status()).isEqualTo(404);

            Scrape m = scrape(s, "/metrics");
            assertThat(m.sum("turnpike_requests_total", "route", "b", "status", "2xx")).isEqualTo(8);
            assertThat(m.sum("turnpike_response_body_bytes_total", "route", "b")).isEqualTo(8 * "bee\n".length());
            assertThat(m.sum("turnpike_request_body_bytes_total", "listener", "edge")).isEqualTo(120);
            assertThat(m.sum("turnpike_http2_streams_total", "listener", "edge")).isEqualTo(9);
            assertThat(m.sum("turnpike_http2_streams_active", "listener", "edge")).isZero();
        } finally {
            s.shutdown(Duration.ZERO);
        }
    }
}
