package dev.turnpike.admin;

import dev.turnpike.config.ConfigLoader;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import dev.turnpike.proxy.TestUpstream;
import dev.turnpike.reload.ConfigSource;
import dev.turnpike.server.HandlerFactory;
import dev.turnpike.server.ServerStartException;
import dev.turnpike.server.TurnpikeServer;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.junit.jupiter.api.AfterEach;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every admin endpoint, the token, and handlers registered by other parts (metrics, dashboard). */
class AdminApiIT {
    private static final String TOKEN = "0123456789abcdef-admin";

    @TempDir
    Path dir;

    private TurnpikeServer server;
    private Path file;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void stop() {
        if (server != null) {
            server.shutdown(Duration.ZERO);
        }
        http.close();
    }

    private static String config(String admin, String extra) {
        return """
                listen: "127.0.0.1:0"
                access_log: off
                %s
                sites:
                  - name: main
                    routes:
                      - { name: hello, path: /hello, methods: [GET], respond: hi }
                %s
                """.formatted(admin, extra);
    }

    private void start(String yaml) throws Exception {
        start(yaml, HandlerFactory.DEFAULT);
    }

    private void start(String yaml, HandlerFactory handlers) throws Exception {
        file = dir.resolve("turnpike.yaml");
        Files.writeString(file, yaml);
        server = TurnpikeServer.start(ConfigLoader.load(file, Map.of()), handlers, ConfigSource.file(file, Map.of()));
    }

    private String admin() {
        return "http://127.0.0.1:" + server.adminAddress().orElseThrow().getPort();
    }

    private HttpResponse<String> call(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(admin() + path)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return call("GET", path, TOKEN, null);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(HttpResponse<String> r) {
        assertThat(r.headers().firstValue("content-type")).contains("application/json; charset=utf-8");
        return (Map<String, Object>) Json.parse(r.body());
    }

    @Test
    void everyRequestNeedsTheTokenWhenOneIsSet() throws Exception {
        start(config("admin: { address: \"127.0.0.1:0\", token: " + TOKEN + " }", ""));
        for (String wrong : new String[] {null, "", "nope", TOKEN.substring(1) + "x", TOKEN + "x"}) {
            HttpResponse<String> r = call("GET", "/healthz", wrong, null);
            assertThat(r.statusCode()).as("token %s", wrong).isEqualTo(401);
            assertThat(r.headers().firstValue("www-authenticate")).contains("Bearer realm=\"turnpike-admin\"");
            assertThat(json(r)).containsEntry("error", "unauthorized");
        }
        HttpResponse<String> basic = http.send(HttpRequest.newBuilder(URI.create(admin() + "/healthz"))
                .header("Authorization", "Basic " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(basic.statusCode()).isEqualTo(401);
        assertThat(get("/healthz").statusCode()).isEqualTo(200);
        assertThat(call("GET", "/nowhere", null, null).statusCode()).as("even a 404 needs the token").isEqualTo(401);
    }

    @Test
    @SuppressWarnings("unchecked")
    void withoutATokenLoopbackRequestsAreServed() throws Exception {
        start(config("admin: \"127.0.0.1:0\"", ""));
        assertThat(call("GET", "/healthz", null, null).statusCode()).isEqualTo(200);
        Map<String, Object> index = json(call("GET", "/", null, null));
        assertThat((List<Object>) index.get("endpoints")).contains("/config", "/healthz", "/readyz", "/reload",
                "/routes/match", "/clusters/*", "/logging/*");
        HttpResponse<String> missing = call("GET", "/nowhere", null, null);
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(json(missing)).containsEntry("message", "no admin endpoint at /nowhere");
        assertThat(call("POST", "/healthz", null, "").statusCode()).isEqualTo(405);
    }

    @Test
    void theAdminApiIsOffByDefault() throws Exception {
        start(config("", ""));
        assertThat(server.adminAddress()).isEmpty();
    }

    @Test
    void livenessAndReadiness() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        HandlerFactory slow = (route, cfg, ctx) -> ex -> Thread.ofVirtual().start(() -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                return;
            }
            ex.eventLoop().execute(() -> ex.respond(HttpResponseStatus.OK, "text/plain",
                    Unpooled.copiedBuffer("done", StandardCharsets.US_ASCII)));
        });
        start(config("admin: { address: \"127.0.0.1:0\", token: " + TOKEN + " }", ""), slow);
        assertThat(json(get("/healthz"))).isEqualTo(Map.of("status", "ok"));
        assertThat(json(get("/readyz"))).isEqualTo(Map.of("status", "ready"));

        int port = server.boundAddresses().getFirst().getPort();
        Thread request = Thread.ofVirtual().start(() -> {
            try (var c = dev.turnpike.testing.RawClient.connect(port)) {
                c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").read();
            } catch (IOException e) {
                // the test checks readiness only
            }
        });
        Thread.sleep(200);
        Thread stopping = Thread.ofVirtual().start(() -> server.shutdown(Duration.ofSeconds(10)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        HttpResponse<String> ready;
        do {
            ready = get("/readyz");
        } while (ready.statusCode() == 200 && System.nanoTime() < deadline);
        assertThat(ready.statusCode()).as("draining: not ready, and the admin API still answers").isEqualTo(503);
        assertThat(json(ready)).isEqualTo(Map.of("status", "not ready", "reason", "shutting down"));
        release.countDown();
        request.join(5_000);
        stopping.join(10_000);
        server = null;
    }

    @Test
    @SuppressWarnings("unchecked")
    void configIsTheEffectiveOneWithSecretsRedacted() throws Exception {
        start(config("admin: { address: \"127.0.0.1:0\", token: " + TOKEN + " }", """
                      - path: /api/*
                        proxy: { upstream: "http://127.0.0.1:9", set_headers: { Authorization: "Bearer upstream-secret" } }
                """));
        HttpResponse<String> r = get("/config");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).doesNotContain(TOKEN).doesNotContain("upstream-secret");
        Map<String, Object> c = json(r);
        assertThat((Map<String, Object>) c.get("admin")).containsEntry("token", "<redacted>");
        assertThat((Map<String, Object>) c.get("server")).containsEntry("shutdown_timeout", "30s")
                .containsEntry("reload_grace", "30s");
        assertThat((List<Map<String, Object>>) c.get("listeners")).singleElement()
                .satisfies(l -> assertThat(l).containsEntry("host", "127.0.0.1").containsEntry("port", 0L));
    }

    @Test
    @SuppressWarnings("unchecked")
    void clustersShowHealthLoadAndPoolsAndEndpointsDrain() throws Exception {
        try (TestUpstream up = TestUpstream.start((req, conn) -> {
            conn.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            return true;
        })) {
            start(config("admin: \"127.0.0.1:0\"", """
                          - { name: api, path: /api/*, proxy: { cluster: app } }
                    clusters:
                      app: { endpoints: ["127.0.0.1:%d"] }
                    server: { event_loops: 1 }
                    """.formatted(up.port())));
            int port = server.boundAddresses().getFirst().getPort();
            assertThat(proxied(port)).isEqualTo(200);

            Map<String, Object> all = json(get("/clusters"));
            Map<String, Object> app = ((List<Map<String, Object>>) all.get("clusters")).getFirst();
            assertThat(app).containsEntry("name", "app").containsEntry("policy", "round_robin");
            Map<String, Object> e = ((List<Map<String, Object>>) app.get("endpoints")).getFirst();
            String address = "127.0.0.1:" + up.port();
            assertThat(e).containsEntry("address", address).containsEntry("health", "up")
                    .containsEntry("in_flight", 0L).containsEntry("requests", 1L).containsEntry("reason", null)
                    .containsEntry("pool", Map.of("open", 1L, "idle", 1L, "pending", 0L));
            assertThat(json(get("/clusters/app"))).containsEntry("name", "app");
            assertThat(get("/clusters/nope").statusCode()).isEqualTo(404);

            assertThat(call("GET", "/clusters/app/endpoints/" + address + "/drain", null, null).statusCode())
                    .isEqualTo(405);
            HttpResponse<String> drained = call("POST", "/clusters/app/endpoints/" + address + "/drain", null, "");
            assertThat(json(drained)).containsEntry("health", "draining").containsEntry("changed", true);
            assertThat(proxied(port)).as("its only endpoint drains: no new request goes there").isEqualTo(503);
            assertThat(json(get("/clusters/app")).toString()).contains("health=draining");

            HttpResponse<String> enabled = call("POST", "/clusters/app/endpoints/" + address + "/enable", null, "");
            assertThat(json(enabled)).containsEntry("health", "up").containsEntry("changed", true);
            assertThat(proxied(port)).isEqualTo(200);
            assertThat(call("POST", "/clusters/app/endpoints/127.0.0.1:1/drain", null, "").statusCode())
                    .isEqualTo(404);
        }
    }

    private static int proxied(int port) throws IOException {
        try (var c = dev.turnpike.testing.RawClient.connect(port)) {
            return c.send("GET /api/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").read().status;
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void reloadAppliesRefusesWithTheProblemsOrSaysThereIsNothingToReload() throws Exception {
        String yaml = config("admin: \"127.0.0.1:0\"", "");
        start(yaml);
        Files.writeString(file, yaml.replace("respond: hi", "respond: hello"));
        HttpResponse<String> applied = call("POST", "/reload", null, "");
        assertThat(applied.statusCode()).isEqualTo(200);
        assertThat(json(applied)).containsEntry("outcome", "applied")
                .containsEntry("changes", List.of("~ route main/hello: handler.body"));

        Files.writeString(file, yaml.replace("respond: hi", "respnd: hello"));
        HttpResponse<String> refused = call("POST", "/reload", null, "");
        assertThat(refused.statusCode()).isEqualTo(422);
        assertThat(json(refused)).containsEntry("outcome", "refused");
        assertThat((List<String>) json(refused).get("problems")).anySatisfy(p -> assertThat(p)
                .contains("turnpike.yaml:7:").contains("respnd: unknown key; did you mean 'respond'?"));
        assertThat(call("GET", "/reload", null, null).statusCode()).isEqualTo(405);

        server.shutdown(Duration.ZERO);
        server = TurnpikeServer.start(ConfigLoader.parse(yaml, "mem.yaml", dir, Map.of()));
        HttpResponse<String> none = call("POST", "/reload", null, "");
        assertThat(none.statusCode()).isEqualTo(409);
        assertThat(json(none)).containsEntry("outcome", "unavailable");
    }

    @Test
    @SuppressWarnings("unchecked")
    void routesMatchSaysWhichSiteAndRouteWouldAnswer() throws Exception {
        start(config("admin: \"127.0.0.1:0\"", """
                  - host: shop.example
                    routes:
                      - { name: canary, path: /, headers: { X-Canary: "1" }, respond: canary }
                      - { name: home, path: /, respond: home }
                """));
        Map<String, Object> hello = json(get("/routes/match?path=/hello"));
        assertThat(hello).containsEntry("site", "main").containsEntry("route", "hello").containsEntry("method", "GET");
        assertThat((Map<String, Object>) hello.get("handler")).containsEntry("type", "respond");
        assertThat((String) hello.get("position")).contains("turnpike.yaml:7:");

        assertThat(json(get("/routes/match?host=SHOP.example:8080&path=/"))).containsEntry("site", "shop.example")
                .containsEntry("route", "home").containsEntry("host", "shop.example");
        assertThat(json(get("/routes/match?host=shop.example&path=/&header=X-Canary:1")))
                .containsEntry("route", "canary");
        assertThat(json(get("/routes/match?path=/nothing"))).containsEntry("route", null).containsEntry("status", 404L);
        assertThat(json(get("/routes/match?path=/hello&method=POST"))).containsEntry("status", 405L)
                .containsEntry("allowed", List.of("GET", "HEAD"));
        assertThat(json(get("/routes/match?path=/a/../hello"))).as("normalised as a request would be")
                .containsEntry("route", "hello");
        assertThat(get("/routes/match?path=nope").statusCode()).isEqualTo(400);
    }

    @Test
    void logLevelsChangeAtRuntime() throws Exception {
        start(config("admin: \"127.0.0.1:0\"", ""));
        String logger = "dev.turnpike.proxy";
        try {
            assertThat(json(get("/logging/" + logger))).containsEntry("logger", logger).containsEntry("level", null);
            HttpResponse<String> set = call("PUT", "/logging/" + logger, null, "{\"level\": \"debug\"}");
            assertThat(set.statusCode()).isEqualTo(200);
            assertThat(json(set)).containsEntry("level", "DEBUG").containsEntry("effective", "DEBUG");
            assertThat(org.slf4j.LoggerFactory.getLogger(logger).isDebugEnabled()).isTrue();
            assertThat(call("PUT", "/logging/" + logger, null, "{\"level\": \"LOUD\"}").statusCode()).isEqualTo(400);
            assertThat(call("PUT", "/logging/" + logger, null, "DEBUG").statusCode()).isEqualTo(400);
            assertThat(json(get("/logging"))).containsKey("root").containsEntry("format", "text");
        } finally {
            HttpResponse<String> reset = call("PUT", "/logging/" + logger, null, "{\"level\": null}");
            assertThat(json(reset)).containsEntry("level", null);
        }
    }

    @Test
    void otherPartsRegisterTheirHandlers() throws Exception {
        start(config("admin: { address: \"127.0.0.1:0\", token: " + TOKEN + " }", ""));
        server.adminRoutes().register("/custom", text("custom"));
        server.adminRoutes().registerTree("/extras", ex -> text("extras " + ex.path()).handle(ex));

        assertThat(get("/custom").body()).isEqualTo("custom");
        assertThat(get("/extras").body()).isEqualTo("extras /extras");
        assertThat(get("/extras/assets/app.js").body()).isEqualTo("extras /extras/assets/app.js");
        assertThat(get("/extrasx").statusCode()).isEqualTo(404);
        assertThat(call("GET", "/custom", null, null).statusCode()).as("behind the token too").isEqualTo(401);
        assertThat(server.adminRoutes().paths()).contains("/custom", "/extras/*", "/metrics", "/dashboard/*");
        assertThatThrownBy(() -> server.adminRoutes().register("/custom", text("again")))
                .hasMessageContaining("already registered");
        assertThatThrownBy(() -> server.adminRoutes().register("/metrics", text("again")))
                .hasMessageContaining("already registered");
        assertThatThrownBy(() -> server.adminRoutes().register("custom/", text("x")))
                .hasMessageContaining("starts with '/'");
    }

    @Test
    void metricsAndTheDashboardAreServedAndABrowserMayPassTheTokenInTheUrl() throws Exception {
        start(config("admin: { address: \"127.0.0.1:0\", token: " + TOKEN + " }", ""));
        int port = server.boundAddresses().getFirst().getPort();
        try (var c = dev.turnpike.testing.RawClient.connect(port)) {
            assertThat(c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").read().status).isEqualTo(200);
        }
        HttpResponse<String> metrics = get("/metrics");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).containsPattern("turnpike_requests_total\\{[^}]*route=\"hello\",site=\"main\","
                + "status=\"2xx\"} 1.0");

        assertThat(call("GET", "/dashboard/", null, null).statusCode()).isEqualTo(401);
        HttpResponse<String> page = call("GET", "/dashboard/?token=" + TOKEN, null, null);
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("content-type")).contains("text/html; charset=utf-8");
        assertThat(page.headers().firstValue("referrer-policy")).as("the token does not leave with a link")
                .contains("no-referrer");
        assertThat(call("GET", "/metrics?token=" + TOKEN, null, null).statusCode()).isEqualTo(200);
        assertThat(call("GET", "/metrics?token=" + TOKEN + "x", null, null).statusCode()).isEqualTo(401);
        assertThat(call("GET", "/metrics?token=" + TOKEN + "&token=" + TOKEN, null, null).statusCode())
                .isEqualTo(401);
        assertThat(call("POST", "/reload?token=" + TOKEN, null, "").statusCode())
                .as("a token in a URL never changes anything").isEqualTo(401);
    }

    private static Handler text(String body) {
        return (Exchange ex) -> ex.respond(HttpResponseStatus.OK, "text/plain",
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
    }

    @Test
    void aReloadMovesTheAdminListenerAndChangesTheToken() throws Exception {
        String yaml = config("admin: { address: \"127.0.0.1:0\", token: " + TOKEN + " }", "");
        start(yaml);
        int before = server.adminAddress().orElseThrow().getPort();
        Files.writeString(file, yaml.replace(TOKEN, TOKEN + "-2"));
        HttpResponse<String> r = call("POST", "/reload", TOKEN, "");
        assertThat(json(r)).containsEntry("changes", List.of("~ admin: token"));
        assertThat(server.adminAddress().orElseThrow().getPort()).as("same listener").isEqualTo(before);
        assertThat(get("/healthz").statusCode()).as("the old token is refused at once").isEqualTo(401);
        assertThat(call("GET", "/healthz", TOKEN + "-2", null).statusCode()).isEqualTo(200);

        int free;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            free = probe.getLocalPort();
        }
        Files.writeString(file, yaml.replace("127.0.0.1:0\", token", "127.0.0.1:" + free + "\", token"));
        assertThat(server.reload("test").get(10, TimeUnit.SECONDS).diff().lines()).containsExactly("~ admin: port, token");
        assertThat(server.adminAddress().orElseThrow().getPort()).isEqualTo(free);
        assertThat(get("/healthz").statusCode()).as("moved, with the first token again").isEqualTo(200);
        assertThatThrownBy(() -> http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + before + "/healthz"))
                .build(), HttpResponse.BodyHandlers.ofString())).as("the old address is closed")
                .isInstanceOf(IOException.class);

        Files.writeString(file, yaml.replace("admin: { address: \"127.0.0.1:0\", token: " + TOKEN + " }",
                "admin: off"));
        assertThat(server.reload("test").get(10, TimeUnit.SECONDS).diff().lines())
                .containsExactly("~ admin: enabled, port, token");
        assertThat(server.adminAddress()).isEmpty();
    }

    @Test
    void anAdminPortInUseStopsTheStart() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            assertThatThrownBy(() -> start(config("admin: \"127.0.0.1:" + taken.getLocalPort() + "\"", "")))
                    .isInstanceOf(ServerStartException.class)
                    .hasMessageStartingWith("cannot listen on 127.0.0.1:" + taken.getLocalPort() + " for the admin API")
                    .hasMessageContaining("in use");
        }
    }
}
