package dev.turnpike.metrics;

import dev.turnpike.server.TurnpikeServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.turnpike.metrics.MetricsTesting.get;
import static dev.turnpike.metrics.MetricsTesting.port;
import static org.assertj.core.api.Assertions.assertThat;

/** The names in docs/operations.md, in a real scrape and in the Grafana example are the same set. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MetricNamesIT {
    private static final Pattern NAME = Pattern.compile("\\bturnpike_[a-z0-9_]+");

    @Test
    void docsScrapeAndGrafanaAgree() throws Exception {
        TurnpikeServer up = MetricsTesting.start("""
                listen: "127.0.0.1:0"
                access_log: off
                sites:
                  - routes:
                      - { path: /*, respond: "ok\\n" }
                """);
        TurnpikeServer edge = MetricsTesting.start("""
                listen: "127.0.0.1:0"
                access_log: off
                clusters:
                  app:
                    endpoints: ["127.0.0.1:%d"]
                    health: { passive: { consecutive_5xx: 5 } }
                sites:
                  - routes:
                      - { name: app, path: /a/*, proxy: { cluster: app } }
                      - { name: metrics, path: /metrics, respond: 204 }
                """.formatted(port(up)));
        try {
            assertThat(get(edge, "/a/x").statusCode()).isEqualTo(200);
            Set<String> scraped = new TreeSet<>();
            for (String line : MetricsTesting.scrape(edge, "/metrics").text().split("\n")) {
                if (line.startsWith("# TYPE turnpike_")) {
                    scraped.add(line.split(" ")[2]);
                }
            }
            Set<String> documented = names(Files.readString(Path.of("docs", "operations.md")));
            assertThat(scraped).isEqualTo(documented);

            Set<String> charted = names(Files.readString(Path.of("examples", "grafana-turnpike.json")));
            assertThat(documented).containsAll(charted);
            assertThat(charted).contains("turnpike_requests_total", "turnpike_request_duration_seconds",
                    "turnpike_upstream_endpoint_up", "turnpike_connections_active");
        } finally {
            edge.shutdown(Duration.ZERO);
            up.shutdown(Duration.ZERO);
        }
    }

    private static Set<String> names(String text) {
        Set<String> out = new TreeSet<>();
        Matcher m = NAME.matcher(text);
        while (m.find()) {
            out.add(m.group().replaceAll("_(bucket|count|sum)$", "")); // a histogram's series are its family
        }
        return out;
    }
}
