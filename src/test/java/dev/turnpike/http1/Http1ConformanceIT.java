package dev.turnpike.http1;

import dev.turnpike.server.Fixture;
import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.RawClient.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/** HTTP/1.1 semantics a client sees, over real sockets. */
class Http1ConformanceIT {
    static final String YAML = """
            listen: "127.0.0.1:0"
            access_log: off
            sites:
              - hosts: [a.example]
                routes:
                  - {name: a-x, path: /x, respond: "a.example x"}
              - routes:
                  - {name: echo, path: /echo, respond: "replaced"}
                  - {name: slow, path: /slow, respond: "replaced"}
                  - {name: proxied, path: /proxied, proxy: "%s"}
                  - {name: stream, path: /stream, respond: "replaced"}
                  - {name: no-content, path: /empty, respond: 204}
                  - {name: hello, respond: "hello {path}"}
            """;

    static Fixture server;
    static Fixture.Upstream upstream;

    @BeforeAll
    static void start() throws Exception {
        upstream = new Fixture.Upstream(0);
        server = Fixture.start(YAML.formatted(upstream.url()), Map.<String, Supplier<dev.turnpike.http.Handler>>of(
                "echo", Fixture.Echo::new, "stream", Fixture.Streams::new, "slow", () -> new Fixture.Slow(150)));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        upstream.close();
    }

    @Test
    void aBodyReaderGetsTheEndOfAnEmptyBodyAtOnce() throws Exception {
        try (RawClient c = server.connect()) {
            assertThat(c.send(get("/echo")).read().bodyText()).isEqualTo("echo:");
            Response r = c.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n").read();
            assertThat(r.bodyText()).isEqualTo("echo:");
            c.send(get("/echo") + get("/echo") + get("/x"));
            assertThat(c.read().bodyText()).isEqualTo("echo:");
            assertThat(c.read().bodyText()).isEqualTo("echo:");
            assertThat(c.read().bodyText()).isEqualTo("hello /x");
        }
    }

    @Test
    void pipelinedRequestsWaitForASlowOneAndStayInOrder() throws Exception {
        try (RawClient c = server.connect()) {
            c.send(get("/a") + get("/slow") + "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc"
                    + get("/slow") + get("/b"));
            assertThat(c.read().bodyText()).isEqualTo("hello /a");
            assertThat(c.read().bodyText()).isEqualTo("slow");
            assertThat(c.read().bodyText()).isEqualTo("echo:abc");
            assertThat(c.read().bodyText()).isEqualTo("slow");
            assertThat(c.read().bodyText()).isEqualTo("hello /b");
            assertThat(c.isClosedByPeer(100)).isFalse();
        }
    }

    @Test
    void expectContinueThroughTheProxy() throws Exception {
        try (RawClient c = server.connect()) {
            c.send("POST /proxied HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            Response first = c.read();
            org.junit.jupiter.api.Assumptions.assumeFalse(first.status == 501, "proxy handler is a placeholder");
            assertThat(first.statusLine).isEqualTo("HTTP/1.1 100 Continue");
            Response r = c.send("hello").read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("upstream:hello");
        }
    }

    static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
    }

    @Test
    void keepAliveServesSeveralRequestsOnOneConnection() throws Exception {
        try (RawClient c = server.connect()) {
            for (int i = 0; i < 5; i++) {
                Response r = c.send(get("/k" + i)).read();
                assertThat(r.status).isEqualTo(200);
                assertThat(r.bodyText()).isEqualTo("hello /k" + i);
                assertThat(r.header("Connection")).isNull();
            }
            assertThat(c.isClosedByPeer(100)).isFalse();
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrderIncludingOneWithABody() throws Exception {
        try (RawClient c = server.connect()) {
            c.send(get("/p1") + get("/p2")
                    + "POST /p3 HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello world"
                    + get("/p4") + get("/p5"));
            for (int i = 1; i <= 5; i++) {
                Response r = c.read();
                assertThat(r.status).isEqualTo(200);
                assertThat(r.bodyText()).isEqualTo("hello /p" + i);
            }
            assertThat(c.send(get("/after")).read().bodyText()).isEqualTo("hello /after");
        }
    }

    @Test
    void pipelinedBodiesReachAHandlerThatReadsThem() throws Exception {
        try (RawClient c = server.connect()) {
            c.send(get("/p1")
                    + "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nfirst"
                    + "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nsec\r\n3;x=y\r\nond\r\n0\r\n\r\n"
                    + get("/p4"));
            assertThat(c.read().bodyText()).isEqualTo("hello /p1");
            assertThat(c.read().bodyText()).isEqualTo("echo:first");
            assertThat(c.read().bodyText()).isEqualTo("echo:second");
            assertThat(c.read().bodyText()).isEqualTo("hello /p4");
        }
    }

    @Test
    void http10ClosesUnlessKeepAliveWasAsked() throws Exception {
        try (RawClient c = server.connect()) {
            Response r = c.send("GET /old HTTP/1.0\r\n\r\n").read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("hello /old");
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(c.isClosedByPeer(2000)).isTrue();
        }
        try (RawClient c = server.connect()) {
            Response r = c.send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").read();
            assertThat(r.header("Connection")).isEqualToIgnoringCase("keep-alive");
            assertThat(r.header("Content-Length")).isEqualTo("10");
            r = c.send("GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").read();
            assertThat(r.bodyText()).isEqualTo("hello /again");
            assertThat(c.isClosedByPeer(100)).isFalse();
        }
    }

    @Test
    void http10IsNeverSentChunkedFraming() throws Exception {
        try (RawClient c = server.connect()) {
            Response r = c.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.header("Transfer-Encoding")).isNull();
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(r.bodyText()).isEqualTo("streamed");
        }
        try (RawClient c = server.connect()) {
            Response r = c.send(get("/stream")).read();
            assertThat(r.header("Transfer-Encoding")).isEqualToIgnoringCase("chunked");
            assertThat(r.bodyText()).isEqualTo("streamed");
            assertThat(c.send(get("/next")).read().bodyText()).isEqualTo("hello /next");
        }
    }

    @Test
    void http10ExpectContinueIsIgnored() throws Exception {
        try (RawClient c = server.connect()) {
            Response r = c.send("GET /old HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").read();
            assertThat(r.status).isEqualTo(200);
        }
    }

    @Test
    void headHasContentLengthButNoBodyAndTheNextRequestStillParses() throws Exception {
        try (RawClient c = server.connect()) {
            Response r = c.send("HEAD /h HTTP/1.1\r\nHost: test\r\n\r\n").readHead();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.header("Content-Length")).isEqualTo("8");
            r = c.send("HEAD /stream HTTP/1.1\r\nHost: test\r\n\r\n").readHead();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.header("Transfer-Encoding")).isNull();
            r = c.send(get("/next")).read();
            assertThat(r.statusLine).isEqualTo("HTTP/1.1 200 OK");
            assertThat(r.bodyText()).isEqualTo("hello /next");
            c.send("HEAD /h HTTP/1.1\r\nHost: test\r\n\r\n" + get("/pipelined-after-head"));
            assertThat(c.readHead().status).isEqualTo(200);
            assertThat(c.read().bodyText()).isEqualTo("hello /pipelined-after-head");
        }
    }

    @Test
    void noContentHasNoContentLengthOrBody() throws Exception {
        try (RawClient c = server.connect()) {
            Response r = c.send(get("/empty")).read();
            assertThat(r.status).isEqualTo(204);
            assertThat(r.header("Content-Length")).isNull();
            assertThat(r.header("Transfer-Encoding")).isNull();
            assertThat(c.send(get("/next")).read().bodyText()).isEqualTo("hello /next");
        }
    }

    @Test
    void optionsAsteriskListsMethods() throws Exception {
        try (RawClient c = server.connect()) {
            Response r = c.send("OPTIONS * HTTP/1.1\r\nHost: test\r\n\r\n").read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.header("Allow")).contains("GET").contains("HEAD").contains("OPTIONS");
            assertThat(r.header("Content-Length")).isEqualTo("0");
        }
    }

    @Test
    void absoluteFormTargetRoutesByItsAuthority() throws Exception {
        try (RawClient c = server.connect()) {
            Response r = c.send("GET http://a.example/x HTTP/1.1\r\nHost: other.example\r\n\r\n").read();
            assertThat(r.bodyText()).isEqualTo("a.example x");
            r = c.send("GET HTTP://A.Example:8080/x?q=1 HTTP/1.1\r\nHost: other.example\r\n\r\n").read();
            assertThat(r.bodyText()).isEqualTo("a.example x");
            r = c.send("GET http://b.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n").read();
            assertThat(r.bodyText()).isEqualTo("hello /x");
        }
    }

    @Test
    void expectContinueIsAnsweredWhenTheHandlerReadsTheBody() throws Exception {
        try (RawClient c = server.connect()) {
            c.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            Response interim = c.read();
            assertThat(interim.statusLine).isEqualTo("HTTP/1.1 100 Continue");
            Response r = c.send("hello").read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("echo:hello");
            assertThat(c.send(get("/next")).read().bodyText()).isEqualTo("hello /next");
        }
    }

    @Test
    void expectContinueToAHandlerThatDoesNotReadIsAnsweredWithoutContinueAndClosed() throws Exception {
        try (RawClient c = server.connect()) {
            Response r = c.send("POST /r HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n").read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("hello /r");
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(c.isClosedByPeer(2000)).isTrue();
        }
    }

    @Test
    void otherExpectationsFailWith417() throws Exception {
        try (RawClient c = server.connect()) {
            Response r = c.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: something-else\r\n\r\n").read();
            assertThat(r.status).isEqualTo(417);
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(c.isClosedByPeer(2000)).isTrue();
        }
    }

    @Test
    void traceAndConnectAreNotAllowed() throws Exception {
        try (RawClient c = server.connect()) {
            Response r = c.send("TRACE / HTTP/1.1\r\nHost: test\r\n\r\n").read();
            assertThat(r.status).isEqualTo(405);
            assertThat(r.header("Allow")).contains("GET").doesNotContain("TRACE");
            assertThat(c.send(get("/next")).read().bodyText()).isEqualTo("hello /next");
        }
    }

    @Test
    void connectionCloseFromTheClientIsHonoured() throws Exception {
        try (RawClient c = server.connect()) {
            Response r = c.send("GET /bye HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").read();
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(c.isClosedByPeer(2000)).isTrue();
        }
    }

    @Test
    void dateAndServerHeaders() throws Exception {
        try (RawClient c = server.connect()) {
            Response r = c.send(get("/d")).read();
            assertThat(r.header("Date")).matches("(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d{2} "
                    + "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \\d{4} \\d{2}:\\d{2}:\\d{2} GMT");
            assertThat(r.header("Server")).isEqualTo("Turnpike");
            Response notFound = c.send("GET http://a.example/nope HTTP/1.1\r\nHost: a.example\r\n\r\n").read();
            assertThat(notFound.status).isEqualTo(404);
            assertThat(notFound.header("Date")).isNotNull();
            assertThat(notFound.header("Server")).isEqualTo("Turnpike");
        }
    }

    @Test
    void emptyServerHeaderHidesServer() throws Exception {
        try (Fixture hidden = Fixture.start("""
                listen: "127.0.0.1:0"
                access_log: off
                server: {server_header: ""}
                sites: [{routes: [{respond: ok}]}]
                """); RawClient c = hidden.connect()) {
            Response r = c.send(get("/")).read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.header("Server")).isNull();
            assertThat(r.header("Date")).isNotNull();
            Response bad = c.send("GET / HTTP/1.1\r\n\r\n").read();
            assertThat(bad.status).isEqualTo(400);
            assertThat(bad.header("Server")).isNull();
        }
    }

    @Test
    void requestIdIsGeneratedEchoedOrReplaced() throws Exception {
        try (RawClient c = server.connect()) {
            String generated = c.send(get("/id")).read().header("X-Request-ID");
            assertThat(generated).matches("[0-9a-f]{32}");
            assertThat(c.send(get("/id")).read().header("X-Request-ID")).matches("[0-9a-f]{32}").isNotEqualTo(generated);

            Response echoed = c.send("GET /id HTTP/1.1\r\nHost: test\r\nX-Request-ID: abc-123_x.y:z\r\n\r\n").read();
            assertThat(echoed.header("X-Request-ID")).isEqualTo("abc-123_x.y:z");

            Response spaces = c.send("GET /id HTTP/1.1\r\nHost: test\r\nX-Request-ID: has spaces\r\n\r\n").read();
            assertThat(spaces.header("X-Request-ID")).matches("[0-9a-f]{32}");
            Response tooLong = c.send("GET /id HTTP/1.1\r\nHost: test\r\nx-request-id: " + "a".repeat(500) + "\r\n\r\n").read();
            assertThat(tooLong.header("X-Request-ID")).matches("[0-9a-f]{32}");
            assertThat(tooLong.headers("X-Request-ID")).hasSize(1);
        }
    }
}
