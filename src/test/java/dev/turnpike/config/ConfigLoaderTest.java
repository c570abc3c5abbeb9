package dev.turnpike.config;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class ConfigLoaderTest {

    @TempDir
    Path dir;

    Map<String, String> env = Map.of("APP_PORT", "3000");

    @BeforeEach
    void files() throws IOException {
        Files.createDirectories(dir.resolve("public"));
        Files.writeString(dir.resolve("public/index.html"), "<h1>hi</h1>");
        Files.createDirectories(dir.resolve("errors"));
        Files.writeString(dir.resolve("errors/404.html"), "<h1>not found</h1>");
        Files.writeString(dir.resolve("errors/5xx.html"), "<h1>oops</h1>");
        Files.writeString(dir.resolve("errors/5xx.json"), "{\"error\":\"oops\"}");
        Files.createDirectories(dir.resolve("logs"));
    }

    private TurnpikeConfig parse(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, "t.yaml", dir, env);
    }

    /** The problems as printed, with the temp directory replaced by {@code <dir>}. */
    private List<String> problems(String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
        assertThat(e).as("expected a ConfigException").isNotNull();
        assertThat(e.getStackTrace()).as("user mistakes carry no stack trace").isEmpty();
        String real;
        try {
            real = dir.toRealPath().toString();
        } catch (IOException x) {
            throw new AssertionError(x);
        }
        return e.problems().stream()
                .map(p -> p.toString().replace(real, "<dir>").replace(dir.toString(), "<dir>"))
                .toList();
    }

    private static final String MINIMAL_SITES = """
            sites:
              - routes:
                  - respond: ok
            """;

    private static SourcePosition at(int line, int column) {
        return new SourcePosition("t.yaml", line, column);
    }

    // ------------------------------------------------------------------------------------------ valid

    @Test
    void fullConfigRoundTripsIntoRecords() throws Exception {
        TurnpikeConfig c = parse("""
                server:
                  event_loops: 4
                  allocator: adaptive
                  transport: nio
                  server_header: ""
                  shutdown_timeout: 1m30s
                  trusted_proxies: [10.0.0.0/8, 127.0.0.1]
                  request_id_header: X-Trace-ID
                listen: ":8080"
                listeners:
                  - address: "[::1]:8443"
                    name: public
                    limits:
                      max_request_line: 4KiB
                      max_header_size: 16KB
                      max_header_count: 50
                      max_body_size: 0
                      max_connections: 10
                      max_connections_per_client: 2
                    timeouts:
                      request_head: 500ms
                      request_body: 2m
                      keep_alive: 1h
                access_log:
                  format: json
                  output: logs/access.log
                sites:
                  - hosts: [Example.com, "*.example.com"]
                    name: shop
                    error_pages:
                      404: errors/404.html
                      5XX: { html: errors/5xx.html, json: errors/5xx.json }
                    routes:
                      - name: api
                        path: /api/*
                        methods: [get, POST]
                        headers: { X-Canary: 1, Authorization: "*" }
                        proxy:
                          upstream: http://127.0.0.1:${APP_PORT}/base/
                          connect_timeout: 1s
                          response_timeout: 30s
                          idle_timeout: 20s
                          preserve_host: true
                          strip_prefix: /api
                          set_headers: { X-Env: prod, X-Remove-Me: "" }
                          max_idle_per_loop: 8
                      - regex: "^/v[0-9]+/"
                        redirect: { to: "https://example.com{uri}", status: 301 }
                      - path: /health
                        error_pages:
                          404: errors/404.html
                        respond:
                          status: 200
                          body: "ok {request_id}\\n"
                          headers: { Content-Type: text/plain }
                      - path: /
                        static:
                          root: ./public
                          index: [index.html, index.htm]
                          spa_fallback: index.html
                          listing: true
                          show_hidden: true
                          precompressed: false
                          cache_control: "public, max-age=3600"
                          strip_prefix: /assets
                  - routes:
                      - respond: hello
                """);

        assertThat(c.source()).isEqualTo("t.yaml");
        assertThat(c.server()).isEqualTo(new ServerSettings(4, ServerSettings.Allocator.ADAPTIVE,
                ServerSettings.Transport.NIO, Optional.empty(), Duration.ofSeconds(90),
                List.of(CidrBlock.parse("10.0.0.0/8"), CidrBlock.parse("127.0.0.1")), "X-Trace-ID"));
        assertThat(c.listeners()).containsExactly(
                new ListenerConfig(":8080", "0.0.0.0", 8080, ListenerConfig.Limits.defaults(),
                        ListenerConfig.Timeouts.defaults(), at(9, 9)),
                new ListenerConfig("public", "::1", 8443,
                        new ListenerConfig.Limits(4096, 16000, 50, 0, 10, 2),
                        new ListenerConfig.Timeouts(Duration.ofMillis(500), Duration.ofMinutes(2), Duration.ofHours(1)),
                        at(11, 5)));
        assertThat(c.listeners().get(1).address()).isEqualTo("[::1]:8443");
        assertThat(c.accessLog()).isEqualTo(new AccessLogConfig(true, AccessLogConfig.Format.JSON,
                dir.resolve("logs/access.log").toAbsolutePath().normalize().toString()));

        assertThat(c.sites()).hasSize(2);
        SiteConfig shop = c.sites().getFirst();
        assertThat(shop.name()).isEqualTo("shop");
        assertThat(shop.hosts()).containsExactly("example.com", "*.example.com");
        assertThat(shop.isDefault()).isFalse();
        assertThat(shop.position()).isEqualTo(at(28, 5));
        assertThat(shop.errorPages().find(404)).contains(new ErrorPages.Page(Optional.of("<h1>not found</h1>"), Optional.empty()));
        assertThat(shop.errorPages().find(503)).contains(
                new ErrorPages.Page(Optional.of("<h1>oops</h1>"), Optional.of("{\"error\":\"oops\"}")));
        assertThat(shop.errorPages().find(400)).isEmpty();

        List<RouteConfig> routes = shop.routes();
        assertThat(routes).hasSize(4);
        assertThat(routes.get(0)).isEqualTo(new RouteConfig("api", Optional.of(new PathMatch.Prefix("/api/")),
                List.of("GET", "POST"), Map.of("X-Canary", "1", "Authorization", "*"),
                new HandlerConfig.Proxy(URI.create("http://127.0.0.1:3000/base"), Duration.ofSeconds(1),
                        Duration.ofSeconds(30), Duration.ofSeconds(20), true, Optional.of("/api"),
                        Map.of("X-Env", "prod", "X-Remove-Me", ""), 8),
                ErrorPages.NONE, at(34, 9)));
        assertThat(routes.get(1)).isEqualTo(new RouteConfig("shop#1",
                Optional.of(new PathMatch.Regex(java.util.regex.Pattern.compile("^/v[0-9]+/"))), List.of(), Map.of(),
                new HandlerConfig.Redirect(301, "https://example.com{uri}"), ErrorPages.NONE, at(47, 9)));
        assertThat(routes.get(2).name()).isEqualTo("shop#2");
        assertThat(routes.get(2).path()).contains(new PathMatch.Exact("/health"));
        assertThat(routes.get(2).handler()).isEqualTo(
                new HandlerConfig.Respond(200, "ok {request_id}\n", Map.of("Content-Type", "text/plain")));
        assertThat(routes.get(2).errorPages().find(404)).isPresent();
        assertThat(routes.get(3).handler()).isEqualTo(new HandlerConfig.Static(dir.resolve("public").toRealPath(),
                List.of("index.html", "index.htm"), Optional.of("index.html"), HandlerConfig.Static.Listing.ON,
                true, false, Optional.of("public, max-age=3600"), Optional.of("/assets")));

        SiteConfig other = c.sites().get(1);
        assertThat(other.name()).isEqualTo("default");
        assertThat(other.isDefault()).isTrue();
        assertThat(other.hosts()).isEmpty();
        assertThat(other.routes().getFirst().name()).isEqualTo("default#0");
        assertThat(other.routes().getFirst().path()).isEmpty();
        assertThat(other.routes().getFirst().handler()).isEqualTo(new HandlerConfig.Respond(200, "hello", Map.of()));
    }

    @Test
    void defaultsApplyWhenKeysAreOmitted() throws Exception {
        TurnpikeConfig c = parse("""
                listeners:
                  - address: "127.0.0.1:0"
                sites:
                  - host: example.com
                    routes:
                      - path: /api/*
                        proxy: { upstream: "http://localhost" }
                      - static: { root: public }
                """);
        assertThat(c.server()).isEqualTo(ServerSettings.defaults());
        assertThat(c.accessLog()).isEqualTo(AccessLogConfig.defaults());
        ListenerConfig l = c.listeners().getFirst();
        assertThat(l.name()).isEqualTo("127.0.0.1:0");
        assertThat(l.port()).isZero();
        assertThat(l.limits()).isEqualTo(ListenerConfig.Limits.defaults());
        assertThat(l.timeouts()).isEqualTo(ListenerConfig.Timeouts.defaults());
        SiteConfig site = c.sites().getFirst();
        assertThat(site.name()).isEqualTo("example.com");
        assertThat(site.errorPages()).isEqualTo(ErrorPages.NONE);
        assertThat(site.routes().get(0).handler()).isEqualTo(new HandlerConfig.Proxy(URI.create("http://localhost:80"),
                Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(60), false, Optional.empty(),
                Map.of(), 64));
        assertThat(site.routes().get(1).handler()).isEqualTo(new HandlerConfig.Static(dir.resolve("public").toRealPath(),
                List.of("index.html"), Optional.empty(), HandlerConfig.Static.Listing.OFF, false, true,
                Optional.empty(), Optional.empty()));
        assertThat(site.routes().get(1).name()).isEqualTo("example.com#1");
    }

    @Test
    void shorthandForms() throws Exception {
        TurnpikeConfig c = parse("""
                listen: ["127.0.0.1:8080", ":8081", "[::]:8082"]
                access_log: off
                server:
                  server_header: false
                  trusted_proxies: 10.1.0.0/16
                sites:
                  - host: "*"
                    routes:
                      - path: /files/*
                        static: ./public
                      - path: /api/*
                        methods: post
                        proxy: http://127.0.0.1:3000
                      - path: /hello
                        respond: "hello {host}"
                      - path: /empty
                        respond: 204
                      - path: /old
                        redirect: "https://{host}{uri}"
                """);
        assertThat(c.listeners()).extracting(ListenerConfig::name, ListenerConfig::host, ListenerConfig::port)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("127.0.0.1:8080", "127.0.0.1", 8080),
                        org.assertj.core.groups.Tuple.tuple(":8081", "0.0.0.0", 8081),
                        org.assertj.core.groups.Tuple.tuple("[::]:8082", "::", 8082));
        assertThat(c.accessLog().enabled()).isFalse();
        assertThat(c.server().serverHeader()).isEmpty();
        assertThat(c.server().trustedProxies()).containsExactly(CidrBlock.parse("10.1.0.0/16"));
        SiteConfig site = c.sites().getFirst();
        assertThat(site.isDefault()).isTrue();
        assertThat(site.name()).isEqualTo("default");
        List<RouteConfig> r = site.routes();
        assertThat(r.get(0).handler()).isEqualTo(new HandlerConfig.Static(dir.resolve("public").toRealPath(),
                List.of("index.html"), Optional.empty(), HandlerConfig.Static.Listing.OFF, false, true,
                Optional.empty(), Optional.empty()));
        assertThat(r.get(1).methods()).containsExactly("POST");
        assertThat(r.get(1).handler()).isInstanceOfSatisfying(HandlerConfig.Proxy.class,
                p -> assertThat(p.upstream()).isEqualTo(URI.create("http://127.0.0.1:3000")));
        assertThat(r.get(2).handler()).isEqualTo(new HandlerConfig.Respond(200, "hello {host}", Map.of()));
        assertThat(r.get(3).handler()).isEqualTo(new HandlerConfig.Respond(204, "", Map.of()));
        assertThat(r.get(4).handler()).isEqualTo(new HandlerConfig.Redirect(302, "https://{host}{uri}"));
    }

    @Test
    void quotedAndUnquotedScalarsMeanTheSame() throws Exception {
        TurnpikeConfig c = parse("""
                server: { event_loops: "2", shutdown_timeout: "5s" }
                listeners:
                  - address: "127.0.0.1:8080"
                    limits: { max_header_count: "10", max_body_size: 1024 }
                sites:
                  - routes:
                      - static: { root: "public", listing: "true" }
                """);
        assertThat(c.server().eventLoops()).isEqualTo(2);
        assertThat(c.listeners().getFirst().limits().maxHeaderCount()).isEqualTo(10);
        assertThat(c.listeners().getFirst().limits().maxBodySize()).isEqualTo(1024);
        assertThat(((HandlerConfig.Static) c.sites().getFirst().routes().getFirst().handler()).listing())
                .isEqualTo(HandlerConfig.Static.Listing.ON);
    }

    @Test
    void pathMatchForms() throws Exception {
        TurnpikeConfig c = parse("""
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                      - { path: /, respond: a }
                      - { path: /*, respond: b }
                      - { path: /api/*, respond: c }
                      - { path: /api*, respond: d }
                      - { path: /health, respond: e }
                """);
        assertThat(c.sites().getFirst().routes()).extracting(r -> r.path().orElseThrow()).containsExactly(
                new PathMatch.Exact("/"), new PathMatch.Prefix("/"), new PathMatch.Prefix("/api/"),
                new PathMatch.Prefix("/api"), new PathMatch.Exact("/health"));
    }

    // ------------------------------------------------------------------------------------------ ${ENV}

    @Test
    void environmentVariablesExpandInValues() throws Exception {
        env = Map.of("PORT", "9090", "ROOT", "public", "EMPTY", "");
        TurnpikeConfig c = parse("""
                listen: "127.0.0.1:${PORT}"
                sites:
                  - name: ${SITE:-fallback}
                    routes:
                      - static: ${ROOT}
                      - respond: "${EMPTY:-was empty} costs $5"
                        name: "$${LITERAL}"
                """);
        assertThat(c.listeners().getFirst().port()).isEqualTo(9090);
        assertThat(c.sites().getFirst().name()).isEqualTo("fallback");
        assertThat(c.sites().getFirst().routes().get(1).handler())
                .isEqualTo(new HandlerConfig.Respond(200, "was empty costs $5", Map.of()));
        assertThat(c.sites().getFirst().routes().get(1).name()).isEqualTo("${LITERAL}");
    }

    @Test
    void unsetEnvironmentVariableIsAProblemWithPosition() {
        env = Map.of();
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                      - static: ${WEB_ROOT}
                      - respond: "${not valid}"
                """)).containsExactly(
                "t.yaml:4:17: sites[0].routes[0].static: environment variable WEB_ROOT is not set; set it, or give"
                        + " a default with ${WEB_ROOT:-default}",
                "t.yaml:5:18: sites[0].routes[1].respond: invalid environment variable reference '${not valid}';"
                        + " write ${NAME} or ${NAME:-default} (or $${ for a literal '${')");
    }

    // ------------------------------------------------------------------------------------------ errors

    @Test
    void unknownKeyWithDidYouMean() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - hosts: [example.com]
                    routes:
                      - path: /
                        respond: ok
                      - path: /api/*
                        prxy: http://127.0.0.1:3000
                """)).containsExactly(
                "t.yaml:8:9: sites[0].routes[1].prxy: unknown key; did you mean 'proxy'? expected one of: name, path,"
                        + " regex, methods, headers, error_pages, static, proxy, respond, redirect");
    }

    @Test
    void unknownKeysEverywhere() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                server: { colour: blue }
                listeners:
                  - address: "127.0.0.1:9000"
                    limits: { max_body: 1MiB }
                    max_body_size: 1MiB
                access_log: { fromat: json }
                sites:
                  - routes:
                      - static: { root: public, indx: [a.html] }
                      - proxy: { upstream: "http://127.0.0.1", timeout: 5s }
                      - respond: { status: 200, text: hi }
                      - redirect: { url: "https://x/" }
                      - respond: ok
                        error_pages: { 404: { htm: errors/404.html } }
                """)).containsExactly(
                "t.yaml:2:11: server.colour: unknown key; expected one of: event_loops, allocator, transport,"
                        + " server_header, shutdown_timeout, trusted_proxies, request_id_header, watch_config, reload_grace,"
                        + " log_format",
                "t.yaml:5:15: listeners[0].limits.max_body: unknown key; expected one of: max_request_line,"
                        + " max_header_size, max_header_count, max_body_size, max_connections, max_connections_per_client",
                "t.yaml:6:5: listeners[0].max_body_size: unknown key here; 'max_body_size' belongs under 'limits';"
                        + " expected one of: address, name, limits, timeouts, sendfile, tls, redirect_to_https,"
                        + " http2",
                "t.yaml:7:15: access_log.fromat: unknown key; did you mean 'format'? expected one of: format, output",
                "t.yaml:10:33: sites[0].routes[0].static.indx: unknown key; did you mean 'index'? expected one of:"
                        + " root, index, spa_fallback, listing, show_hidden, precompressed, cache_control, strip_prefix",
                "t.yaml:11:48: sites[0].routes[1].proxy.timeout: unknown key; did you mean 'timeouts'? expected one of:"
                        + " upstream, cluster, split, mirror, connect_timeout, response_timeout, idle_timeout,"
                        + " preserve_host, strip_prefix, set_headers, max_idle_per_loop, timeouts, streaming, websocket,"
                        + " grpc_web",
                "t.yaml:12:33: sites[0].routes[2].respond.text: unknown key; expected one of: status, body, headers",
                "t.yaml:13:19: sites[0].routes[3].redirect.to: missing; expected the target URL, e.g."
                        + " to: \"https://{host}{uri}\"",
                "t.yaml:13:21: sites[0].routes[3].redirect.url: unknown key; expected one of: to, status",
                "t.yaml:15:29: sites[0].routes[4].error_pages.404: expected an HTML file path, or a mapping with"
                        + " 'html' and/or 'json' file paths",
                "t.yaml:15:31: sites[0].routes[4].error_pages.404.htm: unknown key; did you mean 'html'? expected"
                        + " one of: html, json");
    }

    @Test
    void wrongTypes() {
        assertThat(problems("""
                listen: { address: ":8080" }
                server:
                  event_loops: [1]
                  server_header: true
                  shutdown_timeout: yes
                sites:
                  - name: false
                    hosts: { a: b }
                    routes:
                      - path: /x
                        methods: { GET: true }
                        respond: [ok]
                      - static: { root: public, listing: "yes", precompressed: 1 }
                """)).containsExactly(
                "t.yaml:1:9: listen: expected a list of addresses such as \"127.0.0.1:8080\", got a mapping",
                "t.yaml:3:16: server.event_loops: expected an integer between 0 and 4096, got a list",
                "t.yaml:4:18: server.server_header: expected a string, or false to hide the Server header; got the"
                        + " boolean true",
                "t.yaml:5:21: server.shutdown_timeout: expected a duration such as 500ms, 10s, 2m, 1h or 1m30s,"
                        + " got 'yes'",
                "t.yaml:7:11: sites[0].name: expected a site name, got the boolean false; put it in quotes if you"
                        + " mean the text \"false\"",
                "t.yaml:8:12: sites[0].hosts: expected a list of host names, got a mapping",
                "t.yaml:11:18: sites[0].routes[0].methods: expected a list of HTTP methods, got a mapping",
                "t.yaml:12:18: sites[0].routes[0].respond: expected a mapping (key: value lines), got a list",
                "t.yaml:13:42: sites[0].routes[1].static.listing: expected true or false, got the string 'yes'",
                "t.yaml:13:64: sites[0].routes[1].static.precompressed: expected true or false, got the number 1");
    }

    @Test
    void badSizesAndNumbersOutOfRange() {
        assertThat(problems("""
                listeners:
                  - address: "127.0.0.1:8080"
                    limits:
                      max_request_line: 8k
                      max_header_size: 3GiB
                      max_header_count: 0
                      max_body_size: -1
                      max_connections: 1.5
                      max_connections_per_client: lots
                """ + MINIMAL_SITES)).containsExactly(
                "t.yaml:4:25: listeners[0].limits.max_request_line: unknown size unit 'k'; write KiB (1024) or KB"
                        + " (1000); expected a size such as 512, 8KiB, 10MiB or 1GB (KB = 1000 bytes, KiB = 1024 bytes)",
                "t.yaml:5:24: listeners[0].limits.max_header_size: must be between 1 byte and 2147483647 bytes, got 3GiB",
                "t.yaml:6:25: listeners[0].limits.max_header_count: must be >= 1, got 0",
                "t.yaml:7:22: listeners[0].limits.max_body_size: a size cannot be negative, got '-1'",
                "t.yaml:8:24: listeners[0].limits.max_connections: expected an integer >= 1, got '1.5'",
                "t.yaml:9:35: listeners[0].limits.max_connections_per_client: expected an integer >= 0, got 'lots'");
    }

    @Test
    void badDurations() {
        assertThat(problems("""
                listeners:
                  - address: "127.0.0.1:8080"
                    timeouts:
                      request_head: 10
                      request_body: 0s
                      keep_alive: 1.5s
                """ + MINIMAL_SITES)).containsExactly(
                "t.yaml:4:21: listeners[0].timeouts.request_head: a duration needs a unit, e.g. 10s or 10ms",
                "t.yaml:5:21: listeners[0].timeouts.request_body: must be longer than 0, got 0s",
                "t.yaml:6:19: listeners[0].timeouts.keep_alive: expected a duration such as 500ms, 10s, 2m, 1h or"
                        + " 1m30s, got '1.5s'");
    }

    @Test
    void badAddresses() {
        assertThat(problems("""
                listen:
                  - "8080"
                  - "localhost"
                  - "::1:8080"
                  - "127.0.0.1:70000"
                  - "300.1.1.1:80"
                  - "[::1]8080"
                  - "bad host:80"
                """ + MINIMAL_SITES)).containsExactly(
                "t.yaml:2:5: listen[0]: '8080' has no host; write \":8080\" for all interfaces or \"127.0.0.1:8080\""
                        + " for this machine only",
                "t.yaml:3:5: listen[1]: 'localhost' has no port; expected host:port such as \"127.0.0.1:8080\","
                        + " \":8080\" (all interfaces) or \"[::1]:8080\"",
                "t.yaml:4:5: listen[2]: put IPv6 addresses in brackets, e.g. \"[::1]:8080\"; got '::1:8080'",
                "t.yaml:5:5: listen[3]: port must be a number between 0 and 65535, got '70000' in '127.0.0.1:70000'",
                "t.yaml:6:5: listen[4]: '300.1.1.1' is not an IPv4 address; expected host:port such as"
                        + " \"127.0.0.1:8080\", \":8080\" (all interfaces) or \"[::1]:8080\"",
                "t.yaml:7:5: listen[5]: expected host:port such as \"127.0.0.1:8080\", \":8080\" (all interfaces) or"
                        + " \"[::1]:8080\", got '[::1]8080'",
                "t.yaml:8:5: listen[6]: 'bad host' is not a valid host; expected host:port such as \"127.0.0.1:8080\","
                        + " \":8080\" (all interfaces) or \"[::1]:8080\"");
    }

    @Test
    void duplicateListeners() {
        assertThat(problems("""
                listen: [":8080", "127.0.0.1:9090"]
                listeners:
                  - address: "0.0.0.0:8080"
                  - address: "127.0.0.1:9091"
                    name: "127.0.0.1:9090"
                  - address: "127.0.0.1:0"
                  - address: "127.0.0.1:0"
                    name: other
                """ + MINIMAL_SITES)).containsExactly(
                "t.yaml:3:14: listeners[0].address: duplicate listener: 0.0.0.0:8080 is already used by listen[0]",
                "t.yaml:5:11: listeners[1].name: duplicate listener name '127.0.0.1:9090'; already used by listen[1]");
    }

    @Test
    void noListenerAndNoSites() {
        assertThat(problems("""
                server:
                  event_loops: 1
                """)).containsExactly(
                "t.yaml:1:1: listen: no listener; add for example listen: \"127.0.0.1:8080\" (this machine only) or"
                        + " listen: \":8080\" (all interfaces), or a 'listeners' list",
                "t.yaml:1:1: sites: no sites; add at least one, e.g. sites: [{routes: [{respond: \"hello\"}]}]");
        assertThat(problems("""
                listeners: []
                sites: []
                """)).containsExactly(
                "t.yaml:1:1: listeners: no listener; add for example listen: \"127.0.0.1:8080\" (this machine only) or"
                        + " listen: \":8080\" (all interfaces), or a 'listeners' list",
                "t.yaml:2:8: sites: no sites; list at least one site");
    }

    @Test
    void twoHandlersAndNoHandler() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                      - path: /a
                        static: ./public
                        proxy: http://127.0.0.1:3000
                      - path: /b
                        methods: [GET]
                """)).containsExactly(
                "t.yaml:6:9: sites[0].routes[0].proxy: a route has exactly one handler, but 'static' is already given"
                        + " at line 5; keep one of: static, proxy, respond, redirect",
                "t.yaml:7:9: sites[0].routes[1]: no handler; a route needs exactly one of: static, proxy, respond,"
                        + " redirect");
    }

    @Test
    void badPathsAndRegex() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                      - { path: api, respond: a }
                      - { path: /a/*/b, respond: b }
                      - { path: /a?x=1, respond: c }
                      - { regex: "^/v([0-9]+/", respond: d }
                      - { path: /x, regex: "^/x", respond: e }
                      - { path: /y, respond: f, methods: ["GE T"] }
                """)).containsExactly(
                "t.yaml:4:17: sites[0].routes[0].path: a path must start with '/', e.g. /api/* or /health; got 'api'",
                "t.yaml:5:17: sites[0].routes[1].path: '*' may only be the last character, as in /static/*; use"
                        + " 'regex' for other patterns; got '/a/*/b'",
                "t.yaml:6:17: sites[0].routes[2].path: a path condition matches the path only, without '?' query or"
                        + " '#' fragment; got '/a?x=1'",
                "t.yaml:7:18: sites[0].routes[3].regex: invalid regular expression: Unclosed group at character 12"
                        + " in '^/v([0-9]+/'",
                "t.yaml:8:21: sites[0].routes[4].regex: use either 'path' or 'regex', not both",
                "t.yaml:9:43: sites[0].routes[5].methods[0]: expected an HTTP method such as GET or POST, got 'GE T'");
    }

    @Test
    void badPlaceholders() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                      - redirect: "https://{hots}{uri}"
                      - respond: { body: "{path", headers: { X-Where: "{remote_address}" } }
                      - respond: '{"status": "ok"}'
                """)).containsExactly(
                "t.yaml:4:19: sites[0].routes[0].redirect: invalid placeholder: unknown placeholder {hots}; known:"
                        + " {host}, {method}, {path}, {port}, {query}, {remote_addr}, {request_id}, {scheme}, {uri};"
                        + " did you mean {host}?",
                "t.yaml:5:55: sites[0].routes[1].respond.headers.X-Where: invalid placeholder: unknown placeholder"
                        + " {remote_address}; known: {host}, {method}, {path}, {port}, {query}, {remote_addr},"
                        + " {request_id}, {scheme}, {uri}; did you mean {remote_addr}?");
    }

    @Test
    void sendfileIsOnByDefaultAndCanBeSwitchedOff() throws Exception {
        TurnpikeConfig config = parse("""
                listen: "127.0.0.1:8080"
                listeners:
                  - address: "127.0.0.1:8081"
                    sendfile: false
                sites:
                  - routes:
                      - respond: ok
                """);
        assertThat(config.listeners()).extracting(ListenerConfig::sendfile).containsExactly(true, false);
        assertThat(problems("""
                listeners:
                  - address: "127.0.0.1:8081"
                    sendfile: maybe
                sites:
                  - routes:
                      - respond: ok
                """)).singleElement().asString().startsWith("t.yaml:3:15: listeners[0].sendfile: expected true or false");
    }

    @Test
    void bracesThatAreNotPlaceholdersAreText() throws Exception {
        TurnpikeConfig config = parse("""
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                      - path: /json
                        respond: '{"status": "ok", "path": "{path}"}'
                      - respond: { body: "a { b } {path" }
                """);
        assertThat(config.sites().get(0).routes().get(0).handler())
                .isEqualTo(new HandlerConfig.Respond(200, "{\"status\": \"ok\", \"path\": \"{path}\"}", Map.of()));
    }

    @Test
    void unquotedPlaceholderAtTheStartGetsAHint() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                      - respond: {path}
                      - respond: { body: ok, headers: { X-Path: {path} } }
                """)).containsExactly(
                "t.yaml:4:18: sites[0].routes[0].respond: expected a response body, a status or a mapping with"
                        + " status, body and headers; a value that starts with '{' is read as a YAML mapping, so put it"
                        + " in quotes, e.g. \"{path}\"",
                "t.yaml:5:49: sites[0].routes[1].respond.headers.X-Path: expected a header value, got a mapping; a"
                        + " value that starts with '{' is read as a YAML mapping, so put it in quotes, e.g. \"{path}\"");
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                      - redirect: {scheme}://example.com{uri}
                """)).singleElement().asString().startsWith("t.yaml:4:27: (syntax): invalid YAML: ")
                .endsWith("; a value that starts with '{' is read as a YAML mapping, so put it in quotes,"
                        + " e.g. \"{scheme}://example.com{uri}\"");
    }

    @Test
    void emptyValuesAreNotSilentlyAccepted() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                      - respond:
                      - static:
                      - proxy:
                      - redirect:
                      - respond: ok
                        headers: { X-Canary: }
                      - proxy: { upstream: "http://127.0.0.1:3000", set_headers: { X-Drop: } }
                """)).containsExactly(
                "t.yaml:4:9: sites[0].routes[0].respond: expected a response body, a status or a mapping with"
                        + " status, body and headers, got nothing",
                "t.yaml:5:9: sites[0].routes[1].static.root: missing; expected the directory to serve, e.g."
                        + " root: ./public",
                "t.yaml:6:9: sites[0].routes[2].proxy: no target; set exactly one of: upstream (a URL such as"
                        + " http://127.0.0.1:3000), cluster (the name of a cluster), split (weighted clusters)",
                "t.yaml:7:9: sites[0].routes[3].redirect.to: missing; expected the target URL, e.g."
                        + " to: \"https://{host}{uri}\"",
                "t.yaml:9:20: sites[0].routes[4].headers.X-Canary: expected an exact value, or \"*\" for any value,"
                        + " got nothing");
    }

    @Test
    void badHandlerValues() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                      - proxy: https://example.com
                      - proxy: { upstream: "http://user:pw@127.0.0.1/", max_idle_per_loop: -1 }
                      - proxy: "ftp://127.0.0.1"
                      - proxy: { upstream: "http://127.0.0.1/?a=1", strip_prefix: api }
                      - respond: 99
                      - respond: { status: 304, body: x, headers: { Content-Length: "1" } }
                      - redirect: { to: /x, status: 200 }
                """)).containsExactly(
                "t.yaml:4:16: sites[0].routes[0].proxy: https upstreams are not supported yet (TLS to upstreams comes"
                        + " later); use http://",
                "t.yaml:5:28: sites[0].routes[1].proxy.upstream: user info (credentials) is not allowed in the"
                        + " upstream URL; use set_headers to send an Authorization header",
                "t.yaml:5:76: sites[0].routes[1].proxy.max_idle_per_loop: must be >= 0, got -1",
                "t.yaml:6:16: sites[0].routes[2].proxy: unsupported scheme 'ftp'; expected an upstream URL such as"
                        + " http://127.0.0.1:3000",
                "t.yaml:7:28: sites[0].routes[3].proxy.upstream: the upstream URL cannot have a query ('?...')",
                "t.yaml:7:67: sites[0].routes[3].proxy.strip_prefix: a prefix must start with '/', e.g. /assets;"
                        + " got 'api'",
                "t.yaml:8:18: sites[0].routes[4].respond: must be between 200 and 599, got 99",
                "t.yaml:9:39: sites[0].routes[5].respond.body: a 304 response cannot have a body",
                "t.yaml:9:53: sites[0].routes[5].respond.headers.Content-Length: Content-Length is set by Turnpike"
                        + " from the body; remove it",
                "t.yaml:10:37: sites[0].routes[6].redirect.status: a redirect status must be one of 301, 302, 303,"
                        + " 307, 308; got 200");
    }

    @Test
    void missingStaticRootAndFiles() throws IOException {
        Files.writeString(dir.resolve("file.txt"), "x");
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - error_pages:
                      404: errors/missing.html
                      600: errors/404.html
                    routes:
                      - static: ./nope
                      - static: file.txt
                      - static: { index: [index.html] }
                      - static: { root: public, spa_fallback: app.html }
                      - static: { root: public, spa_fallback: ../file.txt }
                """)).containsExactly(
                "t.yaml:4:12: sites[0].error_pages.404: file <dir>/errors/missing.html does not exist",
                "t.yaml:5:7: sites[0].error_pages.600: expected an error status between 400 and 599 (such as 404) or"
                        + " a class (4xx or 5xx) as the key, got '600'",
                "t.yaml:7:17: sites[0].routes[0].static: directory <dir>/nope does not exist",
                "t.yaml:8:17: sites[0].routes[1].static: <dir>/file.txt is not a directory",
                "t.yaml:9:17: sites[0].routes[2].static.root: missing; expected the directory to serve, e.g."
                        + " root: ./public",
                "t.yaml:10:47: sites[0].routes[3].static.spa_fallback: file <dir>/public/app.html does not exist",
                "t.yaml:11:47: sites[0].routes[4].static.spa_fallback: expected a file name relative to root without"
                        + " '..', such as index.html; got '../file.txt'");
    }

    @Test
    void errorPagesMustBeSmallUtf8Files() throws IOException {
        Files.write(dir.resolve("errors/big.html"), new byte[(int) ConfigLoader.MAX_ERROR_PAGE_BYTES + 1]);
        Files.write(dir.resolve("errors/latin1.html"), new byte[] {'c', 'a', 'f', (byte) 0xE9});
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - error_pages:
                      4xx: errors/big.html
                      500: { json: errors/latin1.html }
                      5XX: errors/5xx.html
                      5xx: errors/5xx.html
                    routes: [{ respond: ok }]
                """)).containsExactly(
                "t.yaml:4:12: sites[0].error_pages.4xx: file <dir>/errors/big.html is larger than 1MiB; error pages"
                        + " must be small",
                "t.yaml:5:20: sites[0].error_pages.500.json: file <dir>/errors/latin1.html is not valid UTF-8 text",
                "t.yaml:7:7: sites[0].error_pages.5xx: duplicate error page for 5xx; already set by"
                        + " sites[0].error_pages.5XX");
    }

    @Test
    void duplicateHostsAndDefaultSites() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - hosts: [example.com, "*.example.com"]
                    routes: [{ respond: one }]
                  - host: EXAMPLE.com
                    routes: [{ respond: two }]
                  - routes: [{ respond: default }]
                  - host: "*"
                    routes: [{ respond: another default }]
                """)).containsExactly(
                "t.yaml:5:11: sites[1].host: duplicate host: 'example.com' is already served by sites[0]",
                "t.yaml:8:11: sites[3].host: more than one default site: sites[2] is already the default (no hosts,"
                        + " or '*'); give this site 'hosts'");
    }

    @Test
    void badHostPatterns() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - hosts: ["a*.b", "example.com:8080", "my host", "*", "https://x.com", ""]
                    routes: [{ respond: one }]
                """)).containsExactly(
                "t.yaml:3:13: sites[0].hosts[0]: a wildcard must be the whole first label, as in *.example.com;"
                        + " got 'a*.b'",
                "t.yaml:3:21: sites[0].hosts[1]: a host pattern has no port (every site is served on every"
                        + " listener); write 'example.com' instead of 'example.com:8080'",
                "t.yaml:3:41: sites[0].hosts[2]: a host name cannot contain spaces; got 'my host'",
                "t.yaml:3:52: sites[0].hosts[3]: '*' makes this the default site and must be the only host; remove it"
                        + " or the other host names",
                "t.yaml:3:57: sites[0].hosts[4]: a host pattern is a name only, without scheme or path; expected a"
                        + " host name such as example.com or a wildcard such as *.example.com, got 'https://x.com'",
                "t.yaml:3:74: sites[0].hosts[5]: expected a host name such as example.com or a wildcard such as"
                        + " *.example.com, got an empty string");
    }

    @Test
    void duplicateNamesAndKeys() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - name: a
                    routes:
                      - { name: r, respond: one }
                      - { name: r, respond: two }
                    routes: []
                  - name: a
                    host: b.example
                    routes:
                      - respond: three
                        headers: { X-A: "1", x-a: "2" }
                """)).containsExactly(
                "t.yaml:6:17: sites[0].routes[1].name: duplicate route name 'r' in this site; already used by"
                        + " sites[0].routes[0]",
                "t.yaml:7:5: sites[0].routes: duplicate key; 'routes' is already set at line 4",
                "t.yaml:8:11: sites[1].name: duplicate site name 'a'; already used by sites[0]",
                "t.yaml:12:30: sites[1].routes[0].headers.x-a: duplicate header (names are case-insensitive); already"
                        + " set by sites[1].routes[0].headers.X-A");
    }

    @Test
    void yamlSyntaxErrorHasPosition() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                    - respond: ok
                   bad: [
                """)).singleElement().asString()
                .startsWith("t.yaml:5:4: (syntax): invalid YAML: expected <block end>, but found");
        assertThat(problems("listen: \"127.0.0.1:8080\"\nsites:\n\t- routes: []\n")).singleElement().asString()
                .startsWith("t.yaml:3:1: (syntax): invalid YAML: found character '\\t(TAB)' that cannot start any token");
        assertThat(problems("a: 1\n---\nb: 2\n")).containsExactly(
                "t.yaml:2:1: (syntax): invalid YAML: only one document is allowed; remove the '---' line and what"
                        + " follows, or merge it");
    }

    @Test
    void emptyOrNonMappingDocument() {
        assertThat(problems("")).containsExactly(
                "t.yaml:1:1: (top level): the configuration is empty; expected at least 'listen' and 'sites'");
        assertThat(problems("# only a comment\n")).containsExactly(
                "t.yaml:1:1: (top level): the configuration is empty; expected at least 'listen' and 'sites'");
        assertThat(problems("- a\n- b\n")).containsExactly(
                "t.yaml:1:1: (top level): expected a mapping (key: value lines), got a list");
    }

    @Test
    void reportsEveryProblemAtOnceInFileOrder() {
        List<String> problems = problems("""
                listen: "127.0.0.1:80800"
                server:
                  transport: epol
                sites:
                  - routes:
                      - path: /a
                      - path: /b
                        static: ./missing
                      - respond: 700
                """);
        assertThat(problems).containsExactly(
                "t.yaml:1:9: listen: port must be a number between 0 and 65535, got '80800' in '127.0.0.1:80800'",
                "t.yaml:3:14: server.transport: unknown value 'epol'; did you mean 'epoll'? expected one of: auto,"
                        + " epoll, nio",
                "t.yaml:6:9: sites[0].routes[0]: no handler; a route needs exactly one of: static, proxy, respond,"
                        + " redirect",
                "t.yaml:8:17: sites[0].routes[1].static: directory <dir>/missing does not exist",
                "t.yaml:9:18: sites[0].routes[2].respond: must be between 200 and 599, got 700");
    }

    @Test
    void exceptionMessageListsEveryProblemOnItsOwnLine() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse("""
                listen: "127.0.0.1:8080"
                sites: [{ routes: [{ prxy: x }] }]
                sevrer: {}
                """));
        assertThat(e.getMessage().lines()).hasSize(2).allMatch(l -> l.startsWith("t.yaml:"));
    }

    // ------------------------------------------------------------------------------------------ files

    @Test
    void loadResolvesRelativePathsAgainstTheFilesDirectory() throws Exception {
        Path conf = dir.resolve("conf");
        Files.createDirectories(conf.resolve("www"));
        Path file = conf.resolve("turnpike.yaml");
        Files.writeString(file, """
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                      - static: www
                """);
        TurnpikeConfig c = ConfigLoader.load(file);
        assertThat(c.source()).isEqualTo(file.toString());
        assertThat(((HandlerConfig.Static) c.sites().getFirst().routes().getFirst().handler()).root())
                .isEqualTo(conf.resolve("www").toRealPath());
    }

    @Test
    void unreadableFileIsAConfigException() throws IOException {
        Path missing = dir.resolve("missing.yaml");
        assertThatThrownBy(() -> ConfigLoader.load(missing))
                .isInstanceOf(ConfigException.class)
                .hasMessage(missing + ":1:1: (file): cannot read the configuration: no such file");
        assertThatThrownBy(() -> ConfigLoader.load(dir))
                .isInstanceOf(ConfigException.class)
                .hasMessage(dir + ":1:1: (file): cannot read the configuration: it is a directory, expected a YAML file");
        Path binary = dir.resolve("binary.yaml");
        Files.write(binary, new byte[] {'a', ':', ' ', (byte) 0xFF});
        assertThatThrownBy(() -> ConfigLoader.load(binary))
                .isInstanceOf(ConfigException.class)
                .hasMessage(binary + ":1:1: (file): the file is not valid UTF-8 text");
    }

    @Test
    void embeddedDefaultParsesWithTheWelcomeRootSet() throws Exception {
        TurnpikeConfig c = ConfigLoader.embeddedDefault(Map.of("TURNPIKE_WELCOME_ROOT", dir.resolve("public").toString()));
        Path root = dir.resolve("public").toRealPath();
        assertThat(c.source()).isEqualTo(ConfigLoader.EMBEDDED_SOURCE);
        assertThat(c.listeners()).singleElement().satisfies(l -> {
            assertThat(l.host()).isEqualTo("127.0.0.1");
            assertThat(l.port()).isEqualTo(8080);
        });
        assertThat(c.sites()).singleElement().satisfies(s -> {
            assertThat(s.isDefault()).isTrue();
            assertThat(s.routes()).singleElement().satisfies(r -> assertThat(r.handler())
                    .isInstanceOfSatisfying(HandlerConfig.Static.class,
                            st -> assertThat(st.root()).isEqualTo(root)));
        });
    }

    @Test
    void embeddedDefaultWithoutTheWelcomeRootNamesTheVariable() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.embeddedDefault(Map.of()));
        assertThat(e.problems()).singleElement().asString()
                .startsWith("<embedded>:")
                .contains("sites[0].routes[0].static: environment variable TURNPIKE_WELCOME_ROOT is not set");
    }

    // ------------------------------------------------------------------------------------------ golden files

    static Stream<String> goldenFiles() throws IOException, URISyntaxException {
        Path invalid = Path.of(ConfigLoaderTest.class.getResource("/config/invalid").toURI());
        try (Stream<Path> files = Files.list(invalid)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml")).sorted().toList().stream();
        }
    }

    /** Each {@code config/invalid/NAME.yaml} fails with exactly the problems in {@code NAME.errors}. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenFiles")
    void goldenInvalidConfigs(String name) throws Exception {
        Path invalid = Path.of(ConfigLoaderTest.class.getResource("/config/invalid").toURI());
        String yaml = Files.readString(invalid.resolve(name), StandardCharsets.UTF_8);
        String expected = Files.readString(invalid.resolve(name.replace(".yaml", ".errors")), StandardCharsets.UTF_8);
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.parse(yaml, name, invalid, Map.of()));
        assertThat(e).as(name + " should be rejected").isNotNull();
        assertThat(e.getMessage().strip()).isEqualTo(expected.strip());
    }

    // ------------------------------------------------------------------------------------------ helpers

    @Nested
    class SizesAndDurations {
        @ParameterizedTest
        @CsvSource({"512, 512", "0, 0", "1B, 1", "8KiB, 8192", "8kib, 8192", "8KB, 8000", "10 MiB, 10485760",
                "1MB, 1000000", "1GiB, 1073741824", "2gb, 2000000000", "1.5KiB, 1536"})
        void sizes(String text, long bytes) {
            assertThat(Sizes.parse(text)).isEqualTo(bytes);
        }

        @ParameterizedTest
        @CsvSource({"ten, 'a size such as'", "1.5, 'whole number of bytes'", "8k, 'write KiB (1024) or KB (1000)'",
                "5 TB, 'unknown size unit'", "-1, 'cannot be negative'", "99999999999GiB, 'too large'"})
        void badSizes(String text, String message) {
            assertThatThrownBy(() -> Sizes.parse(text)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(message);
        }

        @ParameterizedTest
        @CsvSource({"500ms, 500", "10s, 10000", "2m, 120000", "1h, 3600000", "1m30s, 90000", "1h2m3s4ms, 3723004",
            "365d, 31536000000"})
        void durations(String text, long millis) {
            assertThat(Durations.parse(text)).isEqualTo(Duration.ofMillis(millis));
            assertThat(Durations.parse(Durations.format(Duration.ofMillis(millis)))).isEqualTo(Duration.ofMillis(millis));
        }

        @ParameterizedTest
        @CsvSource({"10, 'needs a unit'", "1.5s, 'expected a duration'", "10 s, 'expected a duration'",
                "1w, 'expected a duration'", "'', 'expected a duration'"})
        void badDurations(String text, String message) {
            assertThatThrownBy(() -> Durations.parse(text)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(message);
        }

        @Test
        void suggestions() {
            assertThat(Suggestions.closest("prxy", ConfigLoader.ROUTE_KEYS)).contains("proxy");
            assertThat(Suggestions.closest("Path", ConfigLoader.ROUTE_KEYS)).contains("path");
            assertThat(Suggestions.closest("mehtods", ConfigLoader.ROUTE_KEYS)).contains("methods");
            assertThat(Suggestions.closest("zzz", ConfigLoader.ROUTE_KEYS)).isEmpty();
        }
    }
}
