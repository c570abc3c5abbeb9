package dev.turnpike.http1;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.turnpike.http.Handler;
import dev.turnpike.server.Fixture;
import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.RawClient.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Request smuggling and strictness: every malformed request is answered with its status and Connection:
 * close, the connection is really closed, nothing after the bad bytes is answered, and no handler (nor the
 * upstream behind a proxy route) ever sees the request.
 */
class Http1MalformedIT {
    @TempDir
    static Path dir;

    static Fixture server;
    static Fixture.Counting reached = new Fixture.Counting("reached");
    static Fixture.Upstream upstream;
    static final AtomicInteger rejected = new AtomicInteger();

    @BeforeAll
    static void start() throws Exception {
        upstream = new Fixture.Upstream(0);
        server = Fixture.start("""
                listen: "127.0.0.1:0"
                access_log: {format: json, output: %s}
                sites:
                  - routes:
                      - {name: proxied, path: /proxy, proxy: "%s"}
                      - {name: ok, path: /ok, respond: "fine"}
                      - {name: reached, respond: "replaced"}
                """.formatted(dir.resolve("access.log"), upstream.url()),
                Map.<String, Supplier<Handler>>of("reached", () -> reached));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        upstream.close();
        // The access log shows every rejection, and never a route for one.
        List<Map<String, String>> entries = new ArrayList<>();
        JsonFactory json = new JsonFactory();
        for (String line : Files.readAllLines(dir.resolve("access.log"))) {
            Map<String, String> e = new HashMap<>();
            try (JsonParser p = json.createParser(line)) {
                assertThat(p.nextToken()).isEqualTo(JsonToken.START_OBJECT);
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    e.put(name, p.getText());
                }
            }
            entries.add(e);
        }
        assertThat(entries).noneMatch(e -> "reached".equals(e.get("route")) || "proxied".equals(e.get("route")));
        assertThat(entries.stream().filter(e -> !"ok".equals(e.get("route"))).count()).isEqualTo(rejected.get());
    }

    static Stream<Arguments> cases() {
        String h = "Host: a.example\r\n";
        List<Arguments> cases = List.of(
                Arguments.of("CL and TE", "POST {t} HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE and CL", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("duplicate CL", "POST {t} HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
                Arguments.of("CL list", "POST {t} HTTP/1.1\r\n" + h + "Content-Length: 5, 5\r\n\r\nhello", 400),
                Arguments.of("CL plus sign", "POST {t} HTTP/1.1\r\n" + h + "Content-Length: +5\r\n\r\nhello", 400),
                Arguments.of("CL trailing garbage", "POST {t} HTTP/1.1\r\n" + h + "Content-Length:  5x\r\n\r\nhello", 400),
                Arguments.of("CL negative", "POST {t} HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n", 400),
                Arguments.of("CL overflow", "POST {t} HTTP/1.1\r\n" + h + "Content-Length: 99999999999999999999\r\n\r\n", 400),
                Arguments.of("TE chunked twice", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE chunked in two fields", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE gzip only", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE identity", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: identity\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE chunked then gzip", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE in HTTP/1.0", "POST {t} HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("chunk size 0x5", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk size with space", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5 5\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk size 17 hex digits", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk size overflows", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk extension without name", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk extension unterminated quote", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5;a=\"b\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk data without CRLF", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400),
                Arguments.of("chunk line bare LF", "POST {t} HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("obs-fold", "GET {t} HTTP/1.1\r\n" + h + "X-A: b\r\n c\r\n\r\n", 400),
                Arguments.of("space before colon", "GET {t} HTTP/1.1\r\nHost : a.example\r\n\r\n", 400),
                Arguments.of("bare CR in value", "GET {t} HTTP/1.1\r\n" + h + "X-A: b\rc\r\n\r\n", 400),
                Arguments.of("bare LF line endings", "GET {t} HTTP/1.1\n" + "Host: a.example\n\n", 400),
                Arguments.of("bare LF in field section", "GET {t} HTTP/1.1\r\n" + "Host: a.example\nX-A: b\r\n\r\n", 400),
                Arguments.of("NUL in value", "GET {t} HTTP/1.1\r\n" + h + "X-A: b\0c\r\n\r\n", 400),
                Arguments.of("DEL in value", "GET {t} HTTP/1.1\r\n" + h + "X-A: b\u007fc\r\n\r\n", 400),
                Arguments.of("control char in target", "GET {t}\u0001x HTTP/1.1\r\n" + h + "\r\n", 400),
                Arguments.of("space in target", "GET {t} x HTTP/1.1\r\n" + h + "\r\n", 400),
                Arguments.of("missing Host", "GET {t} HTTP/1.1\r\n\r\n", 400),
                Arguments.of("two Host fields", "GET {t} HTTP/1.1\r\n" + h + h + "\r\n", 400),
                Arguments.of("Host with userinfo", "GET {t} HTTP/1.1\r\nHost: user@a.example\r\n\r\n", 400),
                Arguments.of("invalid method token", "G(T {t} HTTP/1.1\r\n" + h + "\r\n", 400),
                Arguments.of("HTTP/1.2", "GET {t} HTTP/1.2\r\n" + h + "\r\n", 505),
                Arguments.of("HTTP/2.0 in text", "GET {t} HTTP/2.0\r\n" + h + "\r\n", 505),
                Arguments.of("HTTP/0.9 style", "GET {t}\r\n\r\n", 400),
                Arguments.of("lowercase version", "GET {t} http/1.1\r\n" + h + "\r\n", 400),
                Arguments.of("dot segments above root", "GET /../{t} HTTP/1.1\r\n" + h + "\r\n", 400),
                Arguments.of("bad percent escape", "GET {t}%zz HTTP/1.1\r\n" + h + "\r\n", 400));
        List<Arguments> out = new ArrayList<>();
        for (Arguments a : cases) {
            for (String target : List.of("/", "/proxy")) {
                Object[] v = a.get();
                out.add(Arguments.of(v[0] + " to " + target, ((String) v[1]).replace("{t}", target), v[2]));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rejectedBeforeAnyHandlerAndClosed(String name, String request, int status) throws Exception {
        // A request that would be smuggled if the framing were read leniently follows the bad one.
        String smuggled = "GET /smuggled HTTP/1.1\r\nHost: a.example\r\n\r\n";
        try (RawClient c = server.connect()) {
            Response r = c.send(request + smuggled).read();
            rejected.incrementAndGet();
            assertThat(r.status).as(name).isEqualTo(status);
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(r.header("X-Request-ID")).matches("[0-9a-f]{32}");
            assertThat(c.timeout(2000).readToEnd()).as("nothing after the rejection").isEmpty();
        }
        assertThat(reached.calls).hasValue(0);
        assertThat(upstream.accepted).hasValue(0);
        try (RawClient c = server.connect()) {
            Response r = c.send("GET /ok HTTP/1.1\r\nHost: a.example\r\n\r\n").read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("fine");
        }
    }

    @Test
    void aBadRequestBehindAGoodOneIsAnsweredInOrderThenClosed() throws Exception {
        try (RawClient c = server.connect()) {
            c.send("GET /ok HTTP/1.1\r\nHost: a.example\r\n\r\nGET /ok HTTP/1.1\r\nHost : a.example\r\n\r\n");
            assertThat(c.read().bodyText()).isEqualTo("fine");
            Response r = c.read();
            rejected.incrementAndGet();
            assertThat(r.status).isEqualTo(400);
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(c.isClosedByPeer(2000)).isTrue();
        }
    }
}
