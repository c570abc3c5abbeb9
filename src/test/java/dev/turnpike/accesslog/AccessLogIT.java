package dev.turnpike.accesslog;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.turnpike.http.Handler;
import dev.turnpike.server.Fixture;
import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.RawClient.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

class AccessLogIT {
    @TempDir
    Path dir;

    Fixture start(String format, Path log) throws Exception {
        return Fixture.start(CONFIG.formatted(format, log), Map.<String, Supplier<Handler>>of(
                "aborts", Fixture.Aborts::new, "stuck", Fixture.Stuck::new));
    }

    static final String CONFIG = """
                listen: "127.0.0.1:0"
                access_log: {format: %s, output: %s}
                sites:
                  - hosts: [logged.example]
                    routes:
                      - {name: hello, path: /hello, respond: "hello"}
                      - {name: teapot, path: /tea, respond: {status: 418, body: "short and stout"}}
                      - {name: aborts, path: /aborts, respond: x}
                      - {name: stuck, path: /stuck, respond: x}
                """;

    @Test
    void abortedExchangesAndClientsThatLeaveAreLoggedOnce() throws Exception {
        Path log = dir.resolve("aborted.log");
        try (Fixture f = start("json", log)) {
            try (RawClient c = f.connect()) {
                c.send("GET /aborts HTTP/1.1\r\nHost: logged.example\r\n\r\n");
                assertThat(new String(c.timeout(2000).readToEnd())).startsWith("HTTP/1.1 200").endsWith("partial");
            }
            try (RawClient c = f.connect()) {
                c.send("GET /stuck HTTP/1.1\r\nHost: logged.example\r\n\r\n");
                Thread.sleep(100);
            }
            Thread.sleep(200);
        }
        List<Map<String, Object>> entries = jsonLines(log);
        assertThat(entries).hasSize(2);
        assertThat(entries.get(0)).containsEntry("route", "aborts").containsEntry("status", 200L)
                .containsEntry("bytes_sent", 7L);
        assertThat(entries.get(1)).containsEntry("route", "stuck").containsEntry("status", 0L);
    }

    static final Pattern COMBINED = Pattern.compile(
            "^(\\S+) - - \\[(\\d{2}/[A-Z][a-z]{2}/\\d{4}:\\d{2}:\\d{2}:\\d{2} \\+0000)] \"([^\"]*)\" (\\d{3}) (\\d+) "
                    + "\"([^\"]*)\" \"([^\"]*)\" \"([^\"]*)\" (\\d+\\.\\d{3})$");

    @Test
    void combinedLinesHaveTheDocumentedShape() throws Exception {
        Path log = dir.resolve("combined.log");
        String id;
        try (Fixture f = start("combined", log); RawClient c = f.connect()) {
            Response r = c.send("GET /hello?q=1 HTTP/1.1\r\nHost: logged.example\r\nReferer: https://ref.example/\r\n"
                    + "User-Agent: agent/1.0 \"quoted\"\r\n\r\n").read();
            id = r.header("X-Request-ID");
            c.send("GET /tea HTTP/1.1\r\nHost: logged.example\r\n\r\n").read();
            c.send("GET /nope HTTP/1.1\r\nHost : bad\r\n\r\n").read();
        }
        List<String> lines = Files.readAllLines(log);
        assertThat(lines).hasSize(3);
        Matcher m = COMBINED.matcher(lines.get(0));
        assertThat(m.matches()).as(lines.get(0)).isTrue();
        assertThat(m.group(1)).isEqualTo("127.0.0.1");
        assertThat(m.group(3)).isEqualTo("GET /hello?q=1 HTTP/1.1");
        assertThat(m.group(4)).isEqualTo("200");
        assertThat(m.group(5)).isEqualTo("5");
        assertThat(m.group(6)).isEqualTo("https://ref.example/");
        assertThat(m.group(7)).isEqualTo("agent/1.0 \\x22quoted\\x22");
        assertThat(m.group(8)).isEqualTo(id);
        Matcher tea = COMBINED.matcher(lines.get(1));
        assertThat(tea.matches()).as(lines.get(1)).isTrue();
        assertThat(tea.group(4)).isEqualTo("418");
        assertThat(tea.group(5)).isEqualTo("15");
        assertThat(tea.group(6)).isEqualTo("-");
        assertThat(tea.group(7)).isEqualTo("-");
        Matcher rejected = COMBINED.matcher(lines.get(2));
        assertThat(rejected.matches()).as(lines.get(2)).isTrue();
        assertThat(rejected.group(3)).isEqualTo("-");
        assertThat(rejected.group(4)).isEqualTo("400");
    }

    static List<Map<String, Object>> jsonLines(Path log) throws Exception {
        List<Map<String, Object>> out = new ArrayList<>();
        JsonFactory factory = new JsonFactory();
        for (String line : Files.readAllLines(log)) {
            Map<String, Object> e = new HashMap<>();
            try (JsonParser p = factory.createParser(line)) {
                assertThat(p.nextToken()).isEqualTo(JsonToken.START_OBJECT);
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    JsonToken t = p.nextToken();
                    e.put(name, t == JsonToken.VALUE_NUMBER_INT ? (Object) p.getLongValue()
                            : t == JsonToken.VALUE_NUMBER_FLOAT ? (Object) p.getDoubleValue() : p.getText());
                }
                assertThat(p.nextToken()).isNull();
            }
            out.add(e);
        }
        return out;
    }

    @Test
    void jsonLinesParseWithTheDocumentedFields() throws Exception {
        Path log = dir.resolve("access.json");
        String id;
        try (Fixture f = start("json", log); RawClient c = f.connect()) {
            Response r = c.send("GET /hello HTTP/1.1\r\nHost: logged.example\r\nUser-Agent: \"weird\\agent\"\r\n\r\n").read();
            id = r.header("X-Request-ID");
            c.send("HEAD /tea HTTP/1.1\r\nHost: logged.example\r\nX-Request-ID: client-id\r\n\r\n").readHead();
        }
        List<Map<String, Object>> entries = jsonLines(log);
        assertThat(entries).hasSize(2);
        Map<String, Object> hello = entries.get(0);
        assertThat(hello).containsEntry("status", 200L).containsEntry("bytes_sent", 5L).containsEntry("route", "hello")
                .containsEntry("request_id", id).containsEntry("method", "GET").containsEntry("target", "/hello")
                .containsEntry("protocol", "HTTP/1.1").containsEntry("host", "logged.example")
                .containsEntry("remote_addr", "127.0.0.1").containsEntry("user_agent", "\"weird\\agent\"");
        assertThat(hello.get("duration_ms")).isInstanceOf(Double.class);
        assertThat((String) hello.get("time")).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z");
        Map<String, Object> head = entries.get(1);
        assertThat(head).containsEntry("status", 418L).containsEntry("bytes_sent", 0L).containsEntry("route", "teapot")
                .containsEntry("request_id", "client-id").containsEntry("method", "HEAD");
    }

    @Test
    void manyRequestsAreAllLoggedWithoutBlocking() throws Exception {
        Path log = dir.resolve("many.log");
        int clients = 4;
        int each = 500;
        long start = System.nanoTime();
        try (Fixture f = start("json", log)) {
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            List<Future<Integer>> done = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                done.add(pool.submit(() -> {
                    int ok = 0;
                    try (RawClient c = f.connect()) {
                        for (int n = 0; n < each; n++) {
                            if (c.send("GET /hello HTTP/1.1\r\nHost: logged.example\r\n\r\n").read().status == 200) {
                                ok++;
                            }
                        }
                    }
                    return ok;
                }));
            }
            for (Future<Integer> d : done) {
                assertThat(d.get()).isEqualTo(each);
            }
            pool.shutdown();
        }
        List<Map<String, Object>> entries = jsonLines(log);
        assertThat(entries).hasSize(clients * each);
        assertThat(entries).allSatisfy(e -> assertThat(e).containsEntry("status", 200L));
        assertThat(entries.stream().map(e -> e.get("request_id")).distinct().count()).isEqualTo(clients * each);
        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(20_000);
    }
}
