package dev.turnpike.http2;

import dev.turnpike.http.Handler;
import dev.turnpike.server.Fixture;
import dev.turnpike.testing.H2Client;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameTypes;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * RFC 9113 section 8: a malformed request is a stream error (RST_STREAM PROTOCOL_ERROR) that never reaches a
 * handler, and the connection goes on serving other streams; semantic problems get the same answers as on
 * HTTP/1.1.
 */
class Http2MalformedIT {
    static final String YAML = """
            listeners:
              - address: "127.0.0.1:0"
                limits: { max_body_size: 1000, max_header_count: 10 }
                http2: { max_header_list_size: 4KiB }
            access_log: off
            sites:
              - routes:
                  - {name: echo, path: /echo, respond: "replaced"}
                  - {name: count, path: /*, respond: "replaced"}
            """;
    static final byte END_STREAM_AND_HEADERS = 0x5;
    static Fixture f;
    static Fixture.Counting handler;

    @BeforeAll
    static void start() throws Exception {
        f = Fixture.start(YAML, Map.<String, Supplier<Handler>>of("count", () -> handler = new Fixture.Counting("ok"),
                "echo", Fixture.Echo::new));
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    @BeforeEach
    void reset() {
        handler.calls.set(0);
    }

    static Stream<Arguments> malformedHeads() {
        return Stream.of(
                Arguments.of("upper-case name", new String[]{":method", "GET", ":path", "/", ":scheme", "http",
                        ":authority", "a", "X-Upper", "1"}),
                Arguments.of("connection-specific field", new String[]{":method", "GET", ":path", "/", ":scheme", "http",
                        ":authority", "a", "connection", "keep-alive"}),
                Arguments.of("transfer-encoding", new String[]{":method", "GET", ":path", "/", ":scheme", "http",
                        ":authority", "a", "transfer-encoding", "chunked"}),
                Arguments.of("te other than trailers", new String[]{":method", "GET", ":path", "/", ":scheme", "http",
                        ":authority", "a", "te", "gzip"}),
                Arguments.of("pseudo-header after a regular field", new String[]{":method", "GET", ":scheme", "http",
                        "accept", "*/*", ":path", "/"}),
                Arguments.of("missing :path", new String[]{":method", "GET", ":scheme", "http", ":authority", "a"}),
                Arguments.of("missing :method", new String[]{":path", "/", ":scheme", "http", ":authority", "a"}),
                Arguments.of("duplicate :path", new String[]{":method", "GET", ":path", "/", ":path", "/x",
                        ":scheme", "http"}),
                Arguments.of("unknown pseudo-header", new String[]{":method", "GET", ":path", "/", ":scheme", "http",
                        ":colour", "blue"}),
                Arguments.of("response pseudo-header", new String[]{":method", "GET", ":path", "/", ":scheme", "http",
                        ":status", "200"}),
                Arguments.of(":path not origin-form", new String[]{":method", "GET", ":path", "http://a/b",
                        ":scheme", "http"}),
                Arguments.of(":path * for GET", new String[]{":method", "GET", ":path", "*", ":scheme", "http"}),
                Arguments.of("userinfo in :authority", new String[]{":method", "GET", ":path", "/", ":scheme", "http",
                        ":authority", "user@a"}),
                Arguments.of(":protocol on a GET (RFC 8441 section 4)", new String[]{":method", "GET", ":protocol",
                        "websocket", ":path", "/", ":scheme", "http"}),
                Arguments.of("extended CONNECT without :authority", new String[]{":method", "CONNECT", ":protocol",
                        "websocket", ":path", "/", ":scheme", "http"}),
                Arguments.of("trailing whitespace in a value", new String[]{":method", "GET", ":path", "/",
                        ":scheme", "http", "accept", "text/html "}),
                Arguments.of("leading whitespace in a value", new String[]{":method", "GET", ":path", "/",
                        ":scheme", "http", "accept", " text/html"}),
                Arguments.of("line feed in a value", new String[]{":method", "GET", ":path", "/", ":scheme", "http",
                        "x-a", "1\nx-b: 2"}),
                Arguments.of("Host conflicting with :authority", new String[]{":method", "GET", ":path", "/",
                        ":scheme", "http", ":authority", "a.example", "host", "b.example"}),
                Arguments.of("empty :path", new String[]{":method", "GET", ":path", "", ":scheme", "http"}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedHeads")
    void malformedHeadIsResetBeforeAnyHandler(String what, String[] fields) throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            int id = c.nextStreamId();
            c.frame(Http2FrameTypes.HEADERS, END_STREAM_AND_HEADERS, id, H2Client.literalBlock(fields));
            H2Client.Stream s = c.response(id);
            assertThat(s.resetCode).as(what).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
            assertThat(s.heads).isEmpty();
            // Only the stream failed: the connection serves the next one.
            H2Client.Stream next = c.response(c.get("/next"));
            assertThat(next.status()).isEqualTo(200);
            assertThat(handler.calls.get()).as("only the good request reached the handler").isEqualTo(1);
            assertThat(c.goAway).isNotDone();
        }
    }

    @Test
    void moreDataThanContentLengthIsResetBeforeTheHandlerSeesTheRequest() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            c.cork(); // head and body in one read, as an attacker would send them
            int id = c.send(H2Client.request("POST", "/x").add("content-length", "3"), false);
            c.data(id, "12345".getBytes(StandardCharsets.US_ASCII), true);
            c.uncork();
            assertThat(c.response(id).resetCode).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
            assertThat(handler.calls.get()).isZero();
            assertThat(c.response(c.get("/next")).status()).isEqualTo(200);
        }
    }

    @Test
    void lessDataThanContentLengthIsReset() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            c.cork();
            int id = c.send(H2Client.request("POST", "/echo").add("content-length", "10"), false);
            c.data(id, "12345".getBytes(StandardCharsets.US_ASCII), true);
            c.uncork();
            H2Client.Stream s = c.response(id);
            // The handler reads the body, so nothing is answered before the end is checked.
            assertThat(s.resetCode).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
        }
    }

    @Test
    void trailersMustEndTheStreamAndCarryNoPseudoHeader() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            // To a handler that reads the body, so that the stream is still open when the trailers come.
            int a = c.send(H2Client.request("POST", "/echo"), false);
            c.data(a, "1".getBytes(StandardCharsets.US_ASCII), false);
            c.frame(Http2FrameTypes.HEADERS, 0x4, a, H2Client.literalBlock("x-trailer", "1")); // no END_STREAM
            assertThat(c.response(a).resetCode).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
            int b = c.send(H2Client.request("POST", "/echo"), false);
            c.frame(Http2FrameTypes.HEADERS, END_STREAM_AND_HEADERS, b, H2Client.literalBlock(":path", "/y"));
            assertThat(c.response(b).resetCode).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
        }
    }

    @Test
    void methodsNotServedGet405WithAllow() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            int id = c.nextStreamId();
            c.frame(Http2FrameTypes.HEADERS, END_STREAM_AND_HEADERS, id,
                    H2Client.literalBlock(":method", "CONNECT", ":authority", "example.com:443"));
            H2Client.Stream connect = c.response(id);
            assertThat(connect.status()).isEqualTo(405);
            assertThat(connect.header("allow")).contains("GET");
            assertThat(c.response(c.send(H2Client.request("TRACE", "/"), true)).status()).isEqualTo(405);
            H2Client.Stream options = c.response(c.send(H2Client.request("OPTIONS", "*"), true));
            assertThat(options.status()).isEqualTo(200);
            assertThat(options.header("allow")).contains("OPTIONS");
            assertThat(handler.calls.get()).isZero();
        }
    }

    @Test
    void pathClimbingAboveTheRootGets400() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            assertThat(c.response(c.get("/a/../../etc/passwd")).status()).isEqualTo(400);
            assertThat(handler.calls.get()).isZero();
        }
    }

    @Test
    void bodyLimitsGet413() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            int announced = c.send(H2Client.request("POST", "/x").add("content-length", "5000"), false);
            H2Client.Stream s = c.response(announced);
            assertThat(s.status()).as("%s", s).isEqualTo(413);
            // The client was still to send its body: it is told to stop, without an error.
            waitFor(() -> s.resetCode != null);
            assertThat(s.resetCode).isEqualTo(Http2Error.NO_ERROR.code());

            int streamed = c.send(H2Client.request("POST", "/echo"), false);
            c.data(streamed, new byte[800], false);
            c.data(streamed, new byte[800], false);
            assertThat(c.response(streamed).status()).as("%s", c.stream(streamed)).isEqualTo(413);
            assertThat(c.response(c.get("/next")).status()).isEqualTo(200);
        }
    }

    @Test
    void tooManyFieldsGet431() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            Http2Headers h = H2Client.request("GET", "/x");
            for (int i = 0; i < 11; i++) {
                h.add("x-field-" + i, "v");
            }
            assertThat(c.response(c.send(h, true)).status()).isEqualTo(431);
            assertThat(handler.calls.get()).isZero();
        }
    }

    @Test
    void headerListOverTheLimitGets431AndTheConnectionLives() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            Http2Headers h = H2Client.request("GET", "/x").add("x-big", "v".repeat(4500));
            H2Client.Stream s = c.response(c.send(h, true));
            assertThat(s.status() == 431 || s.resetCode != null).as("431 or reset").isTrue();
            assertThat(handler.calls.get()).isZero();
            assertThat(c.response(c.get("/next")).status()).isEqualTo(200);
        }
    }

    static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!condition.getAsBoolean() && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
        }
    }
}
