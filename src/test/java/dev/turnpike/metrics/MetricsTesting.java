package dev.turnpike.metrics;

import dev.turnpike.config.ConfigLoader;
import dev.turnpike.metrics.web.DashboardHandler;
import dev.turnpike.metrics.web.MetricsHandler;
import dev.turnpike.server.HandlerFactory;
import dev.turnpike.server.TurnpikeServer;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Starts real servers whose routes named {@code metrics} and {@code dashboard} serve the metrics handlers (as the admin
 * listener will), and reads the Prometheus text format back into series.
 */
final class MetricsTesting {
    private MetricsTesting() {}

    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** A server from {@code yaml}; routes named metrics / dashboard get the metrics / dashboard handler. */
    static TurnpikeServer start(String yaml) throws Exception {
        return TurnpikeServer.start(ConfigLoader.parse(yaml, "test.yaml", Path.of("").toAbsolutePath()),
                (route, cfg, ctx) -> switch (route.name()) {
                    case "metrics" -> new MetricsHandler(ctx.metrics(), ctx.blockingExecutor());
                    case "dashboard", "dashboard-root" -> new DashboardHandler(ctx.metrics());
                    default -> HandlerFactory.DEFAULT.create(route, cfg, ctx);
                });
    }

    static int port(TurnpikeServer s) {
        return s.boundAddresses().getFirst().getPort();
    }

    static HttpResponse<String> get(TurnpikeServer s, String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port(s) + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** One series of a scrape: its name, labels and value. */
    record Series(String name, Map<String, String> labels, double value) {}

    /** Scrapes {@code path} on {@code s} and parses every sample line. */
    static Scrape scrape(TurnpikeServer s, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = get(s, path);
        if (r.statusCode() != 200) {
            throw new AssertionError("scrape answered " + r.statusCode() + ": " + r.body());
        }
        return Scrape.parse(r.body());
    }

    record Scrape(String text, List<Series> series) {
        static Scrape parse(String text) {
            List<Series> out = new ArrayList<>();
            for (String line : text.split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                int brace = line.indexOf('{');
                int space = line.lastIndexOf(' ');
                String name;
                Map<String, String> labels = new LinkedHashMap<>();
                if (brace >= 0 && brace < space) {
                    name = line.substring(0, brace);
                    String body = line.substring(brace + 1, line.lastIndexOf('}'));
                    int i = 0;
                    while (i < body.length()) {
                        int eq = body.indexOf('=', i);
                        int end = eq + 2;
                        StringBuilder v = new StringBuilder();
                        while (body.charAt(end) != '"') {
                            char c = body.charAt(end);
                            if (c == '\\') {
                                end++;
                                c = body.charAt(end) == 'n' ? '\n' : body.charAt(end);
                            }
                            v.append(c);
                            end++;
                        }
                        labels.put(body.substring(i, eq), v.toString());
                        i = end + 1;
                        if (i < body.length() && body.charAt(i) == ',') {
                            i++;
                        }
                    }
                } else {
                    name = line.substring(0, space);
                }
                out.add(new Series(name, labels, Double.parseDouble(line.substring(space + 1))));
            }
            return new Scrape(text, out);
        }

        /** Series named {@code name} whose labels include every pair of {@code labels} ("k", "v", ...). */
        List<Series> find(String name, String... labels) {
            List<Series> found = new ArrayList<>();
            for (Series s : series) {
                if (!s.name().equals(name)) {
                    continue;
                }
                boolean all = true;
                for (int i = 0; i < labels.length; i += 2) {
                    all &= labels[i + 1].equals(s.labels().get(labels[i]));
                }
                if (all) {
                    found.add(s);
                }
            }
            return found;
        }

        /** The sum of the series {@link #find} finds (0 when none). */
        double sum(String name, String... labels) {
            return find(name, labels).stream().mapToDouble(Series::value).sum();
        }
    }
}
