package dev.turnpike.metrics;

import dev.turnpike.server.TurnpikeServer;
import dev.turnpike.testing.H2WsClient;
import dev.turnpike.testing.WsClient;
import dev.turnpike.testing.WsUpstream;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static dev.turnpike.metrics.MetricsTesting.port;
import static dev.turnpike.metrics.MetricsTesting.scrape;
import static org.assertj.core.api.Assertions.assertThat;

/** Open WebSockets are a gauge per listener, over HTTP/1.1 and HTTP/2 alike, and go back down when they end. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WebSocketMetricsIT {

    @Test
    void openWebSocketsAreCountedOverBothProtocolsUntilTheyEnd() throws Exception {
        try (WsUpstream up = WsUpstream.start("chat")) {
            TurnpikeServer s = MetricsTesting.start("""
                    listeners:
                      - { address: "127.0.0.1:0", name: edge }
                    access_log: off
                    sites:
                      - routes:
                          - { name: metrics, path: /metrics, respond: 204 }
                          - { name: chat, path: /ws*, proxy: "http://%s" }
                    """.formatted(up.address()));
            try (WsClient h1 = WsClient.connect(port(s), "/ws/a"); H2WsClient h2c = H2WsClient.connect(port(s))) {
                H2WsClient.Ws h2 = h2c.websocket("/ws/b");
                h1.sendText("one");
                assertThat(h1.nextData().text()).isEqualTo("one");
                h2.sendText("two");
                assertThat(h2.next().text()).isEqualTo("two");

                MetricsTesting.Scrape open = scrape(s, "/metrics");
                assertThat(open.sum("turnpike_websockets_active", "listener", "edge")).isEqualTo(2);
                assertThat(open.sum("turnpike_websockets_total", "listener", "edge")).isEqualTo(2);

                h1.send(new CloseWebSocketFrame(1000, "bye"));
                assertThat(h1.awaitClosed(10_000)).isTrue();
                h2.send(new CloseWebSocketFrame(1000, "bye"));
                assertThat(h2.awaitClosed(10_000)).isTrue();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                MetricsTesting.Scrape closed = scrape(s, "/metrics");
                while (closed.sum("turnpike_websockets_active", "listener", "edge") != 0
                        && System.nanoTime() < deadline) {
                    Thread.sleep(20); // the server's side of each close finishes just after the client's
                    closed = scrape(s, "/metrics");
                }
                assertThat(closed.sum("turnpike_websockets_active", "listener", "edge")).isZero();
                assertThat(closed.sum("turnpike_websockets_total", "listener", "edge")).isEqualTo(2);
            } finally {
                s.shutdown(Duration.ZERO);
            }
        }
    }
}
