package dev.turnpike.http2;

import dev.turnpike.http.Handler;
import dev.turnpike.server.Fixture;
import dev.turnpike.testing.H2Client;
import dev.turnpike.testing.RawClient;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/** HTTP/2 exchanges end to end: the existing handlers answer over h2 unchanged. */
class Http2ExchangeIT {
    static final String YAML = """
            listeners:
              - address: "127.0.0.1:0"
                name: upgrade
                http2: { max_concurrent_streams: 500, h2c_upgrade: true }
              - address: "127.0.0.1:0"
                name: defaults
            access_log: { format: json, output: %s }
            sites:
              - routes:
                  - {name: echo, path: /echo, respond: "replaced"}
                  - {name: streams, path: /streams, respond: "replaced"}
                  - {name: slow, path: /slow, respond: "replaced"}
                  - {path: /hello, respond: "hello h2"}
                  - {path: /teapot, respond: {status: 418, body: "short and stout", headers: {X-Tea: earl grey}}}
                  - {path: /old, redirect: /new}
                  - {path: /files/*, static: {root: %s, strip_prefix: /files}}
            """;

    @TempDir
    static Path dir;
    static Path log;
    static byte[] big;
    static Fixture f;

    @BeforeAll
    static void start() throws Exception {
        Path root = Files.createDirectories(dir.resolve("www"));
        big = new byte[3 * 1024 * 1024 + 17];
        new Random(7).nextBytes(big);
        Files.write(root.resolve("big.bin"), big);
        Files.writeString(root.resolve("small.txt"), "small file\n");
        log = dir.resolve("access.log");
        f = Fixture.start(YAML.formatted(log, root), Map.<String, Supplier<Handler>>of(
                "echo", Fixture.Echo::new, "streams", Fixture.Streams::new, "slow", () -> new Fixture.Slow(300)));
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    @Test
    void respondOverPriorKnowledge() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            H2Client.Stream s = c.response(c.get("/hello"));
            assertThat(s.status()).isEqualTo(200);
            assertThat(s.bodyText()).isEqualTo("hello h2");
            assertThat(s.header("content-length")).isEqualTo("8");
            assertThat(s.header("x-request-id")).isNotBlank();
            assertThat(s.header("date")).isNotBlank();
            // Connection-specific fields never appear in HTTP/2 (RFC 9113 section 8.2.2).
            assertThat(s.head().contains("connection")).isFalse();
            assertThat(s.head().contains("transfer-encoding")).isFalse();
            assertThat(s.head().contains("keep-alive")).isFalse();
            assertThat(c.serverSettings.get().maxConcurrentStreams()).isEqualTo(500L);
        }
    }

    @Test
    void statusHeadersRedirectAndErrors() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            H2Client.Stream tea = c.response(c.get("/teapot"));
            assertThat(tea.status()).isEqualTo(418);
            assertThat(tea.header("x-tea")).isEqualTo("earl grey");
            assertThat(tea.bodyText()).isEqualTo("short and stout");
            H2Client.Stream old = c.response(c.get("/old"));
            assertThat(old.status()).isEqualTo(302);
            assertThat(old.header("location")).isEqualTo("/new");
            H2Client.Stream missing = c.response(c.get("/nothing/here"));
            assertThat(missing.status()).isEqualTo(404);
            assertThat(missing.bodyText()).contains("404");
        }
    }

    @Test
    void headEndsWithItsHeaders() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            H2Client.Stream s = c.response(c.send(H2Client.request("HEAD", "/hello"), true));
            assertThat(s.status()).isEqualTo(200);
            assertThat(s.header("content-length")).isEqualTo("8");
            assertThat(s.bodyBytes()).isEmpty();
            H2Client.Stream file = c.response(c.send(H2Client.request("HEAD", "/files/big.bin"), true));
            assertThat(file.status()).isEqualTo(200);
            assertThat(file.header("content-length")).isEqualTo(String.valueOf(big.length));
            assertThat(file.bodyBytes()).isEmpty();
        }
    }

    @Test
    void staticFilesGoOutAsDataFrames() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            int a = c.get("/files/big.bin");
            int b = c.get("/files/small.txt");
            H2Client.Stream small = c.response(b);
            H2Client.Stream file = c.response(a);
            assertThat(file.status()).isEqualTo(200);
            assertThat(file.bodyBytes()).isEqualTo(big);
            assertThat(small.bodyText()).isEqualTo("small file\n");
            Http2Headers range = H2Client.request("GET", "/files/big.bin").add("range", "bytes=10-19");
            H2Client.Stream part = c.response(c.send(range, true));
            assertThat(part.status()).isEqualTo(206);
            assertThat(part.bodyBytes()).isEqualTo(java.util.Arrays.copyOfRange(big, 10, 20));
        }
    }

    @Test
    void requestBodiesReachTheHandlerWithOrWithoutLength() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            Http2Headers sized = H2Client.request("POST", "/echo").add("content-length", "11");
            int a = c.send(sized, false);
            c.data(a, "hello ".getBytes(StandardCharsets.US_ASCII), false);
            c.data(a, "world".getBytes(StandardCharsets.US_ASCII), true);
            assertThat(c.response(a).bodyText()).isEqualTo("echo:hello world");

            int b = c.send(H2Client.request("POST", "/echo"), false); // no length: the body ends with END_STREAM
            byte[] body = new byte[200_000];
            new Random(3).nextBytes(body);
            assertThat(c.upload(b, body.length, false, 10_000)).isEqualTo(body.length);
            c.data(b, new byte[0], true);
            H2Client.Stream s = c.response(b);
            assertThat(s.status()).isEqualTo(200);
            assertThat(s.bodyBytes()).hasSize(5 + body.length);
        }
    }

    @Test
    void requestTrailersEndTheBodyAndResponseStreamsWithoutLength() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            int id = c.send(H2Client.request("POST", "/echo"), false);
            c.data(id, "abc".getBytes(StandardCharsets.US_ASCII), false);
            c.headers(id, new DefaultHttp2Headers().add("x-checksum", "1"), true);
            assertThat(c.response(id).bodyText()).isEqualTo("echo:abc");
            H2Client.Stream s = c.response(c.get("/streams"));
            assertThat(s.status()).isEqualTo(200);
            assertThat(s.bodyText()).isEqualTo("streamed");
            assertThat(s.head().contains("content-length")).isFalse();
        }
    }

    @Test
    void expectContinueGetsAnInterimResponse() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            int id = c.send(H2Client.request("POST", "/echo").add("expect", "100-continue")
                    .add("content-length", "2"), false);
            long deadline = System.currentTimeMillis() + 5_000;
            while (c.stream(id).heads.isEmpty() && System.currentTimeMillis() < deadline) {
                Thread.sleep(10);
            }
            assertThat(c.stream(id).heads).isNotEmpty();
            assertThat(c.stream(id).heads.getFirst().status().toString()).isEqualTo("100");
            c.data(id, "ok".getBytes(StandardCharsets.US_ASCII), true);
            assertThat(c.response(id).bodyText()).isEqualTo("echo:ok");
        }
    }

    @Test
    void hundredsOfConcurrentStreamsOnOneConnection() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                ids.add(c.get(i % 4 == 0 ? "/slow" : i % 4 == 1 ? "/files/small.txt" : "/hello"));
            }
            for (int i = 0; i < ids.size(); i++) {
                H2Client.Stream s = c.response(ids.get(i));
                assertThat(s.resetCode).as("stream %d", ids.get(i)).isNull();
                assertThat(s.status()).isEqualTo(200);
                assertThat(s.bodyText()).isEqualTo(i % 4 == 0 ? "slow" : i % 4 == 1 ? "small file\n" : "hello h2");
            }
        }
    }

    @Test
    void http1StillWorksOnTheSameListener() throws Exception {
        try (RawClient c = f.connect()) {
            RawClient.Response r = c.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("hello h2");
        }
    }

    @Test
    void upgradeFromHttp1WhenEnabled() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2)
                .connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + f.port() + "/hello"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(r.body()).isEqualTo("hello h2");
        List<CompletableFuture<HttpResponse<String>>> more = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            more.add(client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + f.port() + "/files/small.txt"))
                    .build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> m : more) {
            assertThat(m.get().version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(m.get().body()).isEqualTo("small file\n");
        }
        client.close();
    }

    @Test
    void upgradeRequestGets101ThenItsResponseOnStreamOne() throws Exception {
        try (RawClient c = f.connect()) {
            c.send("GET /hello HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                    + "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n");
            RawClient.Response r = c.read();
            assertThat(r.status).isEqualTo(101);
            assertThat(r.header("upgrade")).isEqualToIgnoringCase("h2c");
        }
    }

    @Test
    void upgradeIsOffByDefaultAndTheRequestIsServedOverHttp1() throws Exception {
        try (RawClient c = RawClient.connect(f.port(1))) {
            RawClient.Response r = c.send("GET /hello HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n").read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("hello h2");
        }
        try (H2Client c = H2Client.connect(f.port(1))) { // prior knowledge is on by default
            assertThat(c.response(c.get("/hello")).bodyText()).isEqualTo("hello h2");
        }
    }

    @Test
    void accessLogSaysHttp2() throws Exception {
        try (H2Client c = H2Client.connect(f.port())) {
            assertThat(c.response(c.get("/hello?log=me")).status()).isEqualTo(200);
        }
        String line = null;
        for (int i = 0; i < 100 && line == null; i++) {
            line = Files.readAllLines(log).stream().filter(l -> l.contains("/hello?log=me")).findFirst().orElse(null);
            if (line == null) {
                Thread.sleep(50);
            }
        }
        assertThat(line).contains("\"protocol\":\"HTTP/2.0\"").contains("\"status\":200");
    }

    static String read(Path p) throws IOException {
        return Files.readString(p);
    }
}
