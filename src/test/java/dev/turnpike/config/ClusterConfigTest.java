package dev.turnpike.config;

import dev.turnpike.config.ClusterConfig.ActiveCheck;
import dev.turnpike.config.ClusterConfig.Address;
import dev.turnpike.config.ClusterConfig.EndpointConfig;
import dev.turnpike.config.ClusterConfig.Health;
import dev.turnpike.config.ClusterConfig.LoadBalancing;
import dev.turnpike.config.ClusterConfig.OutlierDetection;
import dev.turnpike.config.ClusterConfig.Pool;
import dev.turnpike.config.ClusterConfig.Retries;
import dev.turnpike.config.ClusterConfig.Sticky;
import dev.turnpike.config.ClusterConfig.Timeouts;
import dev.turnpike.upstream.lb.LoadBalancers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The {@code clusters} section and the proxy keys that use it ({@code cluster}, {@code split}, {@code mirror}). */
class ClusterConfigTest {

    @TempDir
    Path dir;

    private TurnpikeConfig parse(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, "t.yaml", dir, Map.of());
    }

    private List<String> problems(String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
        assertThat(e).as("expected a ConfigException").isNotNull();
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

    private static SourcePosition at(int line, int column) {
        return new SourcePosition("t.yaml", line, column);
    }

    /** Lines 1-2 of every config below; clusters start at line 3. */
    private static final String LISTEN = """
            listen: "127.0.0.1:8080"
            clusters:
            """;

    private static final String POLICIES = String.join(", ", LoadBalancers.names());

    // ------------------------------------------------------------------------------------------ valid

    @Test
    void fullClusterRoundTripsIntoRecords() throws Exception {
        TurnpikeConfig c = parse(LISTEN + """
                  api:
                    endpoints:
                      - 10.0.0.1:8080
                      - http://App2.Internal:8080/
                      - http://10.0.0.5
                      - "[::1]:9000"
                      - "[0:0:0:0:0:0:0:2]:9000"
                      - unix:/run/gunicorn.sock
                      - unix:sockets/app.sock
                      - { address: 10.0.0.3:8080, weight: 3 }
                      - { address: 10.0.0.4:8080, backup: true }
                    load_balancing:
                      policy: consistent_hash
                      hash_key: "Header: X-User"
                      hash_table: maglev
                    slow_start: 30s
                    dns_refresh: 1m
                    pool:
                      max_connections: 100
                      max_pending: 10
                      pending_timeout: 1s
                      idle_timeout: 30s
                      max_idle: 8
                      max_requests_per_connection: 1000
                      max_connection_lifetime: 10m
                    timeouts: { connect: 1s, send: 10s, first_byte: 20s, idle: 30s, total: 2m }
                    health:
                      active:
                        type: http
                        path: /healthz?full=1
                        host: api.internal
                        expected_status: 200-299
                        body_contains: "ok"
                        interval: 5s
                        timeout: 2s
                        rise: 1
                        fall: 4
                        jitter: 20%
                      passive:
                        consecutive_5xx: 0
                        consecutive_connect_failures: 2
                        base_ejection_time: 10s
                        max_ejection_time: 1m
                        max_ejection_percent: 33
                    retries:
                      attempts: 2
                      on: [connect_failure, Reset, timeout, 502, 503, 503]
                      budget: 25%
                      min_concurrent: 5
                      buffer_body: 1MiB
                    limits: { max_connections: 500, max_pending: 50, max_requests: 1000 }
                  sessions:
                    endpoints: 127.0.0.1:3000
                    load_balancing: { policy: sticky, cookie: SID, fallback: least_connections, max_age: 1h }
                sites:
                  - routes:
                      - path: /api/*
                        proxy:
                          cluster: api
                          mirror: { cluster: sessions, percent: 5 }
                          preserve_host: true
                          strip_prefix: /api
                          set_headers: { X-Env: prod }
                      - proxy: { cluster: sessions }
                """);

        assertThat(c.clusters()).hasSize(2);
        ClusterConfig api = c.clusters().getFirst();
        assertThat(api.name()).isEqualTo("api");
        assertThat(api.position()).isEqualTo(at(3, 3));
        assertThat(api.endpoints()).containsExactly(
                new EndpointConfig(new Address.Tcp("10.0.0.1", 8080), 1, false, at(5, 9)),
                new EndpointConfig(new Address.Tcp("app2.internal", 8080), 1, false, at(6, 9)),
                new EndpointConfig(new Address.Tcp("10.0.0.5", 80), 1, false, at(7, 9)),
                new EndpointConfig(new Address.Tcp("::1", 9000), 1, false, at(8, 9)),
                new EndpointConfig(new Address.Tcp("::2", 9000), 1, false, at(9, 9)),
                new EndpointConfig(new Address.Unix(Path.of("/run/gunicorn.sock")), 1, false, at(10, 9)),
                new EndpointConfig(new Address.Unix(dir.toAbsolutePath().normalize().resolve("sockets/app.sock")), 1,
                        false, at(11, 9)),
                new EndpointConfig(new Address.Tcp("10.0.0.3", 8080), 3, false, at(12, 9)),
                new EndpointConfig(new Address.Tcp("10.0.0.4", 8080), 1, true, at(13, 9)));
        assertThat(api.loadBalancing()).isEqualTo(new LoadBalancing("consistent_hash", Optional.of("header:X-User"),
                "maglev", Optional.empty()));
        assertThat(api.slowStart()).isEqualTo(Duration.ofSeconds(30));
        assertThat(api.dnsRefresh()).isEqualTo(Duration.ofMinutes(1));
        assertThat(api.pool()).isEqualTo(new Pool(100, 10, Duration.ofSeconds(1), Duration.ofSeconds(30), 8, 1000,
                Duration.ofMinutes(10)));
        assertThat(api.timeouts()).isEqualTo(new Timeouts(Duration.ofSeconds(1), Duration.ofSeconds(10),
                Duration.ofSeconds(20), Duration.ofSeconds(30), Duration.ofMinutes(2)));
        assertThat(api.health()).isEqualTo(new Health(
                Optional.of(new ActiveCheck(ActiveCheck.Kind.HTTP, "/healthz?full=1", Optional.of("api.internal"), 200,
                        299, Optional.of("ok"), Duration.ofSeconds(5), Duration.ofSeconds(2), 1, 4, 0.2)),
                Optional.of(new OutlierDetection(0, 2, Duration.ofSeconds(10), Duration.ofMinutes(1), 33))));
        assertThat(api.retries()).isEqualTo(new Retries(2, Set.of("connect_failure", "reset", "timeout", "502", "503"),
                25, 5, 1024 * 1024));
        assertThat(api.limits()).isEqualTo(new ClusterConfig.Limits(500, 50, 1000));

        ClusterConfig sessions = c.cluster("sessions").orElseThrow();
        assertThat(sessions.position()).isEqualTo(at(54, 3));
        assertThat(sessions.endpoints()).containsExactly(
                new EndpointConfig(new Address.Tcp("127.0.0.1", 3000), 1, false, at(55, 16)));
        assertThat(sessions.loadBalancing()).isEqualTo(new LoadBalancing("sticky", Optional.empty(), "ring",
                Optional.of(new Sticky("SID", "least_connections", Optional.of(Duration.ofHours(1))))));

        List<RouteConfig> routes = c.sites().getFirst().routes();
        Timeouts t = Timeouts.defaults();
        assertThat(routes.get(0).handler()).isEqualTo(new HandlerConfig.Proxy(null, t.connect(), t.firstByte(),
                t.idle(), true, Optional.of("/api"), Map.of("X-Env", "prod"), Pool.defaults().maxIdle(),
                Optional.of("api"), List.of(), Optional.of(new HandlerConfig.Mirror("sessions", 5))));
        assertThat(routes.get(1).handler()).isEqualTo(new HandlerConfig.Proxy(null, t.connect(), t.firstByte(),
                t.idle(), false, Optional.empty(), Map.of(), Pool.defaults().maxIdle(), Optional.of("sessions"),
                List.of(), Optional.empty()));
    }

    @Test
    void defaultsAndShorthands() throws Exception {
        TurnpikeConfig c = parse(LISTEN + """
                  a:
                    endpoints: [127.0.0.1:3000]
                  b:
                    endpoints: [127.0.0.1:3001]
                    load_balancing: least_connections
                    health:
                      active:
                      passive:
                  c:
                    endpoints: [127.0.0.1:3002]
                    load_balancing: sticky
                    health: { active: { type: tcp } }
                    retries: { on: 503 }
                  unused-mirror_1:
                    endpoints: [127.0.0.1:3003]
                sites:
                  - routes:
                      - path: /a
                        proxy: { cluster: a, mirror: c }
                      - path: /split
                        proxy:
                          split: [{ cluster: a, weight: 90 }, { cluster: b, weight: 10 }]
                      - path: /url
                        proxy: { upstream: "http://127.0.0.1:4000", mirror: { cluster: c } }
                """);
        ClusterConfig a = c.cluster("a").orElseThrow();
        assertThat(a).isEqualTo(new ClusterConfig("a",
                List.of(new EndpointConfig(new Address.Tcp("127.0.0.1", 3000), 1, false, at(4, 17))),
                LoadBalancing.defaults(), Duration.ZERO, Duration.ofSeconds(30), Pool.defaults(), Timeouts.defaults(),
                Health.none(), Retries.defaults(), ClusterConfig.Limits.defaults(), at(3, 3)));
        assertThat(c.cluster("b").orElseThrow().loadBalancing()).isEqualTo(new LoadBalancing("least_connections",
                Optional.empty(), "ring", Optional.empty()));
        assertThat(c.cluster("b").orElseThrow().health()).isEqualTo(new Health(Optional.of(ActiveCheck.defaults()),
                Optional.of(OutlierDetection.defaults())));
        ClusterConfig cc = c.cluster("c").orElseThrow();
        assertThat(cc.loadBalancing()).isEqualTo(new LoadBalancing("sticky", Optional.empty(), "ring",
                Optional.of(new Sticky("tp_sticky", "round_robin", Optional.empty()))));
        assertThat(cc.health().active()).contains(new ActiveCheck(ActiveCheck.Kind.TCP, "/", Optional.empty(), 200,
                399, Optional.empty(), Duration.ofSeconds(10), Duration.ofSeconds(2), 2, 3, 0.1));
        assertThat(cc.retries().on()).containsExactly("503");
        assertThat(c.cluster("unused-mirror_1")).isPresent();

        List<RouteConfig> routes = c.sites().getFirst().routes();
        assertThat(routes.get(0).handler()).isInstanceOfSatisfying(HandlerConfig.Proxy.class, p -> {
            assertThat(p.upstream()).isNull();
            assertThat(p.cluster()).contains("a");
            assertThat(p.mirror()).contains(new HandlerConfig.Mirror("c", 100));
        });
        assertThat(routes.get(1).handler()).isInstanceOfSatisfying(HandlerConfig.Proxy.class, p -> {
            assertThat(p.upstream()).isNull();
            assertThat(p.cluster()).isEmpty();
            assertThat(p.split()).containsExactly(new HandlerConfig.WeightedCluster("a", 90),
                    new HandlerConfig.WeightedCluster("b", 10));
            assertThat(p.mirror()).isEmpty();
        });
        assertThat(routes.get(2).handler()).isEqualTo(new HandlerConfig.Proxy(URI.create("http://127.0.0.1:4000"),
                Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(60), false, Optional.empty(),
                Map.of(), 64, Optional.empty(), List.of(), Optional.of(new HandlerConfig.Mirror("c", 100))));
    }

    @Test
    void everyHashPolicyAndStickyAroundAHashPolicy() throws Exception {
        TurnpikeConfig c = parse(LISTEN + """
                  ring:
                    endpoints: [127.0.0.1:3000]
                    load_balancing: { policy: ring_hash, hash_key: path }
                  ip:
                    endpoints: [127.0.0.1:3000]
                    load_balancing: { policy: consistent_hash, hash_key: ip }
                  pinned:
                    endpoints: [127.0.0.1:3000]
                    load_balancing: { policy: sticky, fallback: consistent_hash, hash_key: "cookie:uid" }
                sites:
                  - routes:
                      - respond: ok
                """);
        assertThat(c.cluster("ring").orElseThrow().loadBalancing()).isEqualTo(new LoadBalancing("ring_hash",
                Optional.of("path"), "ring", Optional.empty()));
        assertThat(c.cluster("ip").orElseThrow().loadBalancing().hashKey()).contains("client_address");
        assertThat(c.cluster("pinned").orElseThrow().loadBalancing()).isEqualTo(new LoadBalancing("sticky",
                Optional.of("cookie:uid"), "ring",
                Optional.of(new Sticky("tp_sticky", "consistent_hash", Optional.empty()))));
    }

    /** The opening example of the docs' "clusters" section loads as written. */
    @Test
    void docsClusterExampleLoads() throws Exception {
        String docs = java.nio.file.Files.readString(Path.of("docs/configuration.md"));
        int section = docs.indexOf("## `clusters`");
        int start = docs.indexOf("```yaml\n", section) + "```yaml\n".length();
        String block = docs.substring(start, docs.indexOf("```", start));
        TurnpikeConfig c = parse("listen: \"127.0.0.1:8080\"\n" + block
                + "sites:\n  - routes:\n      - proxy: { cluster: api }\n");
        ClusterConfig api = c.cluster("api").orElseThrow();
        assertThat(api.endpoints()).hasSize(5);
        assertThat(api.health().active()).isPresent();
        assertThat(api.retries().on()).containsExactlyInAnyOrder("connect_failure", "reset", "503");
    }

    // ------------------------------------------------------------------------------------------ clusters: problems

    @Test
    void unknownPolicyWithDidYouMeanAndHashKeyRules() {
        assertThat(problems(LISTEN + """
                  a:
                    endpoints: [127.0.0.1:3000]
                    load_balancing: least_conections
                  b:
                    endpoints: [127.0.0.1:3000]
                    load_balancing: { policy: fastest }
                  c:
                    endpoints: [127.0.0.1:3000]
                    load_balancing: consistent_hash
                  d:
                    endpoints: [127.0.0.1:3000]
                    load_balancing: { policy: consistent_hash, hash_key: "header:" }
                  e:
                    endpoints: [127.0.0.1:3000]
                    load_balancing: { policy: consistent_hash, hash_key: body }
                  f:
                    endpoints: [127.0.0.1:3000]
                    load_balancing: { policy: least_connections, hash_key: path, hash_table: ring }
                  g:
                    endpoints: [127.0.0.1:3000]
                    load_balancing: { policy: maglev, hash_key: path, hash_table: ring }
                  h:
                    endpoints: [127.0.0.1:3000]
                    load_balancing: { policy: round_robin, cookie: sid, max_age: 1h }
                  i:
                    endpoints: [127.0.0.1:3000]
                    load_balancing: { policy: sticky, cookie: "my cookie", fallback: sticky, max_age: 0s }
                  j:
                    endpoints: [127.0.0.1:3000]
                    load_balancing:
                      policy: sticky
                      fallback: maglev
                  k:
                    endpoints: [127.0.0.1:3000]
                    load_balancing: { policy: consistent_hash, hash_key: path, hash_table: jump }
                sites:
                  - routes:
                      - respond: ok
                """)).containsExactly(
                "t.yaml:5:21: clusters.a.load_balancing: unknown load balancing policy 'least_conections'; did you"
                        + " mean 'least_connections'? expected one of: " + POLICIES,
                "t.yaml:8:31: clusters.b.load_balancing.policy: unknown load balancing policy 'fastest'; expected"
                        + " one of: " + POLICIES,
                "t.yaml:11:21: clusters.c.load_balancing: consistent_hash needs a hash key; write load_balancing:"
                        + " { policy: consistent_hash, hash_key: header:X-User } (or client_address, path,"
                        + " cookie:NAME, query:NAME)",
                "t.yaml:14:58: clusters.d.load_balancing.hash_key: hash key 'header:': expected header:NAME",
                "t.yaml:17:58: clusters.e.load_balancing.hash_key: hash key 'body': expected client_address, path,"
                        + " header:NAME, cookie:NAME or query:NAME",
                "t.yaml:20:50: clusters.f.load_balancing.hash_key: 'hash_key' applies only to consistent_hash,"
                        + " ring_hash, maglev; the policy here is least_connections",
                "t.yaml:20:66: clusters.f.load_balancing.hash_table: 'hash_table' applies only to consistent_hash;"
                        + " the policy here is least_connections",
                "t.yaml:23:55: clusters.g.load_balancing.hash_table: 'hash_table' applies only to consistent_hash;"
                        + " the policy here is maglev, which always uses its own table",
                "t.yaml:26:44: clusters.h.load_balancing.cookie: 'cookie' applies only to policy sticky; the policy"
                        + " here is round_robin",
                "t.yaml:26:57: clusters.h.load_balancing.max_age: 'max_age' applies only to policy sticky; the policy"
                        + " here is round_robin",
                "t.yaml:29:47: clusters.i.load_balancing.cookie: expected a cookie name (letters, digits and"
                        + " !#$%&'*+-.^_`|~), got 'my cookie'",
                "t.yaml:29:70: clusters.i.load_balancing.fallback: sticky cannot fall back to itself; choose the policy"
                        + " for clients without a cookie, such as round_robin or least_connections",
                "t.yaml:29:87: clusters.i.load_balancing.max_age: must be longer than 0, got 0s",
                "t.yaml:33:7: clusters.j.load_balancing.hash_key: missing; maglev needs a hash key: client_address,"
                        + " path, header:NAME, cookie:NAME or query:NAME",
                "t.yaml:37:76: clusters.k.load_balancing.hash_table: unknown value 'jump'; expected one of: ring,"
                        + " maglev");
    }

    @Test
    void badEndpoints() {
        String longName = "s".repeat(120);
        assertThat(problems(LISTEN + """
                  a:
                    endpoints:
                      - 8080
                      - ":8080"
                      - 10.0.0.1
                      - 10.0.0.1:0
                      - 0.0.0.0:80
                      - ::1:80
                      - https://api.example.com:99999
                      - ftp://10.0.0.1
                      - http://10.0.0.1:8080/v1
                      - http://user:pw@10.0.0.1
                      - http://10.0.0.1?x=1
                      - "unix:"
                      - unix://run/app.sock
                      - unix:/%s.sock
                      - { address: 10.0.0.2:80, weight: 0 }
                      - { address: 10.0.0.3:80, weight: 1001, backup: yes }
                      - { weight: 2 }
                      - 10.0.0.9:80
                      - http://10.0.0.9
                      - [10.0.0.10:80]
                  b:
                    endpoints: []
                  c:
                  d:
                    endpoints:
                      - { address: 127.0.0.1:1, backup: true }
                      - { address: 127.0.0.1:2, backup: true }
                  e:
                    endpoints: { address: 127.0.0.1:1 }
                sites:
                  - routes:
                      - respond: ok
                """.formatted(longName))).containsExactly(
                "t.yaml:5:9: clusters.a.endpoints[0]: '8080' has no host; an endpoint needs one, e.g."
                        + " \"127.0.0.1:8080\"",
                "t.yaml:6:9: clusters.a.endpoints[1]: ':8080' has no host; an endpoint needs one, e.g."
                        + " \"127.0.0.1:8080\"",
                "t.yaml:7:9: clusters.a.endpoints[2]: '10.0.0.1' has no port; expected host:port such as"
                        + " \"10.0.0.1:8080\" or \"[::1]:8080\", an http:// or https:// URL, or unix:/path/to.sock",
                "t.yaml:8:9: clusters.a.endpoints[3]: port must be a number between 1 and 65535, got '0' in"
                        + " '10.0.0.1:0'",
                "t.yaml:9:9: clusters.a.endpoints[4]: '0.0.0.0' means all interfaces, which is not an address to"
                        + " connect to; name the upstream's address, e.g. 127.0.0.1 for this machine",
                "t.yaml:10:9: clusters.a.endpoints[5]: put IPv6 addresses in brackets, e.g. \"[::1]:8080\"; got"
                        + " '::1:80'",
                "t.yaml:11:9: clusters.a.endpoints[6]: port must be a number between 1 and 65535, got '99999' in"
                        + " 'api.example.com:99999'",
                "t.yaml:12:9: clusters.a.endpoints[7]: unsupported scheme 'ftp'; expected host:port such as"
                        + " \"10.0.0.1:8080\" or \"[::1]:8080\", an http:// or https:// URL, or unix:/path/to.sock, got"
                        + " 'ftp://10.0.0.1'",
                "t.yaml:13:9: clusters.a.endpoints[8]: an endpoint URL is scheme, host and port only; remove the path"
                        + " '/v1' (a route's strip_prefix can rewrite paths)",
                "t.yaml:14:9: clusters.a.endpoints[9]: an endpoint URL cannot have user info (credentials); use the"
                        + " route's set_headers to send an Authorization header",
                "t.yaml:15:9: clusters.a.endpoints[10]: an endpoint URL cannot have a query ('?...')",
                "t.yaml:16:9: clusters.a.endpoints[11]: expected a socket path after 'unix:', e.g."
                        + " unix:/run/app.sock",
                "t.yaml:17:9: clusters.a.endpoints[12]: write the socket path after 'unix:', as in"
                        + " unix:/run/app.sock or unix:relative/app.sock; got 'unix://run/app.sock'",
                "t.yaml:18:9: clusters.a.endpoints[13]: the socket path /" + longName + ".sock is 126 bytes"
                        + " long; Unix socket paths can be at most 107 bytes",
                "t.yaml:19:41: clusters.a.endpoints[14].weight: must be between 1 and 1000, got 0",
                "t.yaml:20:41: clusters.a.endpoints[15].weight: must be between 1 and 1000, got 1001",
                "t.yaml:20:55: clusters.a.endpoints[15].backup: expected true or false, got the string 'yes'",
                "t.yaml:21:9: clusters.a.endpoints[16].address: missing; expected the endpoint's address, e.g."
                        + " address: \"127.0.0.1:3000\"",
                "t.yaml:23:9: clusters.a.endpoints[18]: duplicate endpoint: 10.0.0.9:80 is already listed at"
                        + " clusters.a.endpoints[17]",
                "t.yaml:24:9: clusters.a.endpoints[19]: expected an endpoint such as \"127.0.0.1:3000\", got a list",
                "t.yaml:26:16: clusters.b.endpoints: no endpoints; list at least one, e.g. [\"127.0.0.1:3000\"]",
                "t.yaml:27:3: clusters.c.endpoints: missing; expected a list of endpoints such as"
                        + " [\"127.0.0.1:3000\"]",
                "t.yaml:30:7: clusters.d.endpoints: no primary endpoint: every endpoint is a backup, and backups"
                        + " only take requests while no primary is healthy; make at least one endpoint a primary"
                        + " (remove backup: true)",
                "t.yaml:33:16: clusters.e.endpoints: expected a list of endpoints such as \"127.0.0.1:3000\", got a"
                        + " mapping");
    }

    @Test
    void badClusterNamesAndDuplicates() {
        assertThat(problems(LISTEN + """
                  API:
                    endpoints: [127.0.0.1:3000]
                  my api:
                    endpoints: [127.0.0.1:3000]
                  web:
                    endpoints: [127.0.0.1:3000]
                  web:
                    endpoints: [127.0.0.1:3001]
                sites:
                  - routes:
                      - proxy: { cluster: API }
                """)).containsExactly(
                "t.yaml:3:3: clusters.API: a cluster name is lower-case letters, digits, '_' and '-', such as 'api';"
                        + " got 'API'",
                "t.yaml:5:3: clusters.my api: a cluster name is lower-case letters, digits, '_' and '-', such as"
                        + " 'my-api'; got 'my api'",
                "t.yaml:9:3: clusters.web: duplicate key; 'web' is already set at line 7");
    }

    @Test
    void clustersMustBeAMappingOfNames() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                clusters:
                  - name: api
                    endpoints: [127.0.0.1:3000]
                endpoints: [127.0.0.1:3000]
                sites:
                  - routes:
                      - proxy: { cluster: api }
                """)).containsExactly(
                "t.yaml:3:3: clusters: expected a mapping from cluster names to clusters, e.g. clusters: { api:"
                        + " { endpoints: [\"127.0.0.1:3000\"] } }; got a list",
                "t.yaml:5:1: endpoints: unknown key here; 'endpoints' belongs under 'clusters.<name>'; expected one"
                        + " of: server, listen, listeners, access_log, clusters, sites, admin");
    }

    @Test
    void badPoolTimeoutsRetriesAndLimits() {
        assertThat(problems(LISTEN + """
                  a:
                    endpoints: [127.0.0.1:3000]
                    slow_start: 30
                    dns_refresh: 0s
                    pool: { max_connections: -1, pending_timeout: 0s, max_connection_lifetime: 0s, max_idel: 3 }
                    timeouts: { connect: 0s, total: 0s, first_bite: 1s }
                    retries:
                      attempts: 11
                      on: [connect_failure, timout, 404, 5xx]
                      budget: 120%
                      min_concurrent: -1
                      buffer_body: 2GiB
                    limits: { max_requests: lots }
                    interval: 5s
                sites:
                  - routes:
                      - respond: ok
                """)).containsExactly(
                "t.yaml:5:17: clusters.a.slow_start: a duration needs a unit, e.g. 30s or 30ms",
                "t.yaml:6:18: clusters.a.dns_refresh: must be longer than 0, got 0s",
                "t.yaml:7:30: clusters.a.pool.max_connections: must be >= 0, got -1",
                "t.yaml:7:51: clusters.a.pool.pending_timeout: must be longer than 0, got 0s",
                "t.yaml:7:84: clusters.a.pool.max_idel: unknown key; did you mean 'max_idle'? expected one of:"
                        + " max_connections, max_pending, pending_timeout, idle_timeout, max_idle,"
                        + " max_requests_per_connection, max_connection_lifetime",
                "t.yaml:8:26: clusters.a.timeouts.connect: must be longer than 0, got 0s",
                "t.yaml:8:41: clusters.a.timeouts.first_bite: unknown key; did you mean 'first_byte'? expected one"
                        + " of: connect, send, first_byte, idle, total",
                "t.yaml:10:17: clusters.a.retries.attempts: must be between 0 and 10, got 11",
                "t.yaml:11:29: clusters.a.retries.on[1]: unknown retry condition 'timout'; did you mean 'timeout'?"
                        + " expected connect_failure, reset, timeout, or a status from 500 to 599",
                "t.yaml:11:37: clusters.a.retries.on[2]: only 5xx statuses (500 to 599) can be retried, got 404",
                "t.yaml:11:42: clusters.a.retries.on[3]: unknown retry condition '5xx'; expected connect_failure,"
                        + " reset, timeout, or a status from 500 to 599",
                "t.yaml:12:15: clusters.a.retries.budget: must be between 0% and 100%, got 120%",
                "t.yaml:13:23: clusters.a.retries.min_concurrent: must be >= 0, got -1",
                "t.yaml:14:20: clusters.a.retries.buffer_body: must be between 0 bytes and 1GiB, got 2GiB",
                "t.yaml:15:29: clusters.a.limits.max_requests: expected an integer >= 0, got 'lots'",
                "t.yaml:16:5: clusters.a.interval: unknown key here; 'interval' belongs under 'health.active';"
                        + " expected one of: endpoints, protocol, tls, load_balancing, slow_start, dns_refresh, pool,"
                        + " timeouts, health, retries, limits");
    }

    @Test
    void badHealthChecks() {
        assertThat(problems(LISTEN + """
                  a:
                    endpoints: [127.0.0.1:3000]
                    health:
                      active:
                        path: healthz
                        host: "bad host"
                        expected_status: 200-99
                        body_contains: ""
                        interval: 2s
                        timeout: 2s
                        rise: 0
                        jitter: 60%
                  b:
                    endpoints: [127.0.0.1:3000]
                    health:
                      active: { interval: 1s, expected_status: "2xx" }
                      passive: { base_ejection_time: 10m, max_ejection_percent: 101, consecutive_5xx: -1 }
                  c:
                    endpoints: [127.0.0.1:3000]
                    health:
                      active: { type: tcp, path: /healthz, expected_status: 600, jitter: "0.1" }
                      passive: { base_ejection_time: 1m, max_ejection_time: 30s }
                      rise: 2
                sites:
                  - routes:
                      - respond: ok
                """)).containsExactly(
                "t.yaml:7:15: clusters.a.health.active.path: a health check path must start with '/', e.g. /healthz;"
                        + " got 'healthz'",
                "t.yaml:8:15: clusters.a.health.active.host: expected a host name such as api.internal, optionally"
                        + " with a port (api.internal:8080); got 'bad host'",
                "t.yaml:9:26: clusters.a.health.active.expected_status: a status must be between 100 and 599, got 99",
                "t.yaml:10:24: clusters.a.health.active.body_contains: expected text that the body must contain, got"
                        + " an empty string; remove body_contains to not check the body",
                "t.yaml:12:18: clusters.a.health.active.timeout: must be shorter than the interval (2s), got 2s",
                "t.yaml:13:15: clusters.a.health.active.rise: must be >= 1, got 0",
                "t.yaml:14:17: clusters.a.health.active.jitter: must be between 0% and 50%, got 60%",
                "t.yaml:18:27: clusters.b.health.active.interval: must be longer than the timeout (2s by default), got"
                        + " 1s; or set a shorter timeout",
                "t.yaml:18:48: clusters.b.health.active.expected_status: expected a status such as 200 or a range"
                        + " such as 200-399, got '2xx'",
                "t.yaml:19:38: clusters.b.health.passive.base_ejection_time: must be at most max_ejection_time"
                        + " (5m by default), got 10m; or raise max_ejection_time",
                "t.yaml:19:65: clusters.b.health.passive.max_ejection_percent: must be between 0% and 100%, got 101%",
                "t.yaml:19:87: clusters.b.health.passive.consecutive_5xx: must be >= 0, got -1",
                "t.yaml:23:28: clusters.c.health.active.path: 'path' applies only to http checks; this check is"
                        + " type: tcp (it only connects)",
                "t.yaml:23:44: clusters.c.health.active.expected_status: 'expected_status' applies only to http"
                        + " checks; this check is type: tcp (it only connects)",
                "t.yaml:23:61: clusters.c.health.active.expected_status: a status must be between 100 and 599, got"
                        + " 600",
                "t.yaml:23:74: clusters.c.health.active.jitter: expected a percentage between 0% and 50% such as 10%,"
                        + " got '0.1'",
                "t.yaml:24:61: clusters.c.health.passive.max_ejection_time: must be at least base_ejection_time (1m),"
                        + " got 30s",
                "t.yaml:25:7: clusters.c.health.rise: unknown key here; 'rise' belongs under 'active'; expected one"
                        + " of: active, passive");
    }

    @Test
    void protocolAndGrpcHealthChecks() throws Exception {
        TurnpikeConfig c = parse(LISTEN + """
                  grpc:
                    endpoints: [127.0.0.1:50051]
                    protocol: h2c
                    health:
                      active: { type: grpc, service: shop.Orders, host: orders.internal }
                  plain:
                    endpoints: [127.0.0.1:3000]
                sites:
                  - routes:
                      - respond: ok
                """);
        ClusterConfig grpc = c.clusters().get(0);
        assertThat(grpc.protocol()).isEqualTo(dev.turnpike.upstream.UpstreamProtocol.H2C);
        ActiveCheck check = grpc.health().active().orElseThrow();
        assertThat(check.kind()).isEqualTo(ActiveCheck.Kind.GRPC);
        assertThat(check.grpcService()).isEqualTo("shop.Orders");
        assertThat(check.host()).contains("orders.internal");
        assertThat(c.clusters().get(1).protocol()).isEqualTo(dev.turnpike.upstream.UpstreamProtocol.HTTP1);

        assertThat(problems(LISTEN + """
                  a:
                    endpoints: [127.0.0.1:3000]
                    protocol: h2x
                  b:
                    endpoints: [127.0.0.1:3000]
                    protocol: h2c
                    tls: true
                  c:
                    endpoints: [127.0.0.1:3000]
                    health:
                      active: { type: grpc }
                  d:
                    endpoints: [127.0.0.1:3000]
                    protocol: h2c
                    health:
                      active: { type: grpc, path: /healthz, body_contains: ok }
                  e:
                    endpoints: [127.0.0.1:3000]
                    health:
                      active: { service: shop.Orders }
                sites:
                  - routes:
                      - respond: ok
                """)).containsExactly(
                "t.yaml:5:15: clusters.a.protocol: unknown value 'h2x'; did you mean 'h2c'? expected one of: http1,"
                        + " h2c, h2",
                "t.yaml:9:5: clusters.b.tls: h2c is HTTP/2 over cleartext; for HTTP/2 over TLS write protocol: h2",
                "t.yaml:13:23: clusters.c.health.active.type: a grpc check needs an HTTP/2 cluster (gRPC runs over"
                        + " HTTP/2); add protocol: h2c (or h2 over TLS) to the cluster",
                "t.yaml:18:29: clusters.d.health.active.path: 'path' applies only to http checks; this check is type:"
                        + " grpc (it asks grpc.health.v1.Health/Check)",
                "t.yaml:18:45: clusters.d.health.active.body_contains: 'body_contains' applies only to http checks;"
                        + " this check is type: grpc (it asks grpc.health.v1.Health/Check)",
                "t.yaml:22:17: clusters.e.health.active.service: 'service' applies only to grpc checks; this check is"
                        + " type: http");
    }

    @Test
    void grpcWebOnProxyRoutes() throws Exception {
        TurnpikeConfig c = parse(LISTEN + """
                  grpc: { endpoints: [127.0.0.1:50051], protocol: h2c }
                sites:
                  - routes:
                      - path: /a/*
                        proxy: { cluster: grpc, grpc_web: true }
                      - path: /b/*
                        proxy: { cluster: grpc, grpc_web: { allow_origins: ["https://App.Example:8443", "https://*.example.com", "*"] } }
                      - path: /c/*
                        proxy: { cluster: grpc, grpc_web: false }
                """);
        List<RouteConfig> routes = c.sites().get(0).routes();
        assertThat(((HandlerConfig.Proxy) routes.get(0).handler()).grpcWeb())
                .contains(new HandlerConfig.GrpcWeb(List.of()));
        assertThat(((HandlerConfig.Proxy) routes.get(1).handler()).grpcWeb())
                .contains(new HandlerConfig.GrpcWeb(List.of("https://app.example:8443", "https://*.example.com", "*")));
        assertThat(((HandlerConfig.Proxy) routes.get(2).handler()).grpcWeb()).isEmpty();

        assertThat(problems(LISTEN + """
                  grpc: { endpoints: [127.0.0.1:50051], protocol: h2c }
                  web: { endpoints: [127.0.0.1:3000] }
                sites:
                  - routes:
                      - path: /a/*
                        proxy: { upstream: "http://127.0.0.1:3000", grpc_web: true }
                      - path: /b/*
                        proxy: { cluster: web, grpc_web: true }
                      - path: /c/*
                        proxy: { cluster: grpc, grpc_web: { allow_origins: [https://app.example/path, ftp://x] } }
                      - path: /d/*
                        proxy: { cluster: grpc, grpc_web: { origins: ["*"] } }
                """)).containsExactly(
                "t.yaml:8:53: sites[0].routes[0].proxy.grpc_web: gRPC-Web is translated to gRPC, which needs HTTP/2"
                        + " to the upstream: proxy to a cluster with protocol: h2c (or h2) instead of an upstream URL",
                "t.yaml:10:32: sites[0].routes[1].proxy.grpc_web: gRPC-Web is translated to gRPC, which needs HTTP/2"
                        + " to the upstream; cluster web speaks http1: give it protocol: h2c (or h2 over TLS)",
                "t.yaml:12:61: sites[0].routes[2].proxy.grpc_web.allow_origins[0]: an origin has no path, query or"
                        + " user info: expected an origin such as https://chat.example.com or https://*.example.com,"
                        + " got 'https://app.example/path'",
                "t.yaml:12:87: sites[0].routes[2].proxy.grpc_web.allow_origins[1]: an origin's scheme is http or"
                        + " https, got 'ftp://x'",
                "t.yaml:14:45: sites[0].routes[3].proxy.grpc_web.origins: unknown key; expected one of:"
                        + " allow_origins");
    }

    @Test
    void tlsToEndpoints() throws Exception {
        dev.turnpike.tls.TestPki pki = new dev.turnpike.tls.TestPki(dev.turnpike.tls.TestPki.KeyType.EC);
        pki.writeCa(dir.resolve("ca.pem"));
        pki.client("CN=edge").write(dir, "client", dev.turnpike.tls.TestPki.KeyFormat.PKCS8);
        java.nio.file.Files.writeString(dir.resolve("junk.pem"), "not a certificate\n");
        TurnpikeConfig c = parse(LISTEN + """
                  a: { endpoints: ["https://app.internal", "https://10.0.0.2:8443"] }
                  b:
                    endpoints: [10.0.0.3:8443]
                    tls: { ca: ca.pem, server_name: App.Internal., client_certificate: client.pem, client_key: client.key }
                  c: { endpoints: [10.0.0.4:443], protocol: h2 }
                  d: { endpoints: [10.0.0.5:443], tls: { verify: false } }
                  e: { endpoints: [10.0.0.6:80], tls: false }
                sites:
                  - routes:
                      - respond: ok
                """);
        Map<String, ClusterConfig> byName = new java.util.HashMap<>();
        c.clusters().forEach(cc -> byName.put(cc.name(), cc));
        assertThat(byName.get("a").tls()).contains(ClusterConfig.Tls.defaults());
        assertThat(byName.get("a").endpoints().get(0).address()).isEqualTo(new Address.Tcp("app.internal", 443));
        ClusterConfig.Tls b = byName.get("b").tls().orElseThrow();
        assertThat(b.ca()).contains(dir.resolve("ca.pem").toAbsolutePath().normalize());
        assertThat(b.serverName()).contains("app.internal");
        assertThat(b.clientKey()).contains(dir.resolve("client.key").toAbsolutePath().normalize());
        assertThat(byName.get("c").tls()).as("h2 implies TLS").contains(ClusterConfig.Tls.defaults());
        assertThat(byName.get("d").tls().orElseThrow().verify()).isFalse();
        assertThat(byName.get("e").tls()).isEmpty();
        ClusterConfig withPassword = new ClusterConfig("p", byName.get("b").endpoints(), byName.get("b").loadBalancing(),
                Duration.ZERO, Duration.ofSeconds(30), Pool.defaults(), Timeouts.defaults(), Health.none(),
                Retries.defaults(), ClusterConfig.Limits.defaults(), at(1, 1), dev.turnpike.upstream.UpstreamProtocol.HTTP1,
                Optional.of(new ClusterConfig.Tls(b.ca(), b.serverName(), true, b.clientCertificate(), b.clientKey(),
                        Optional.of("hunter2"))));
        assertThat(ConfigTree.of(withPassword, true).toString()).as("what the admin API shows")
                .contains("client_key_password=<redacted>").doesNotContain("hunter2");
        assertThat(withPassword.tls().orElseThrow().toString()).doesNotContain("hunter2");

        assertThat(problems(LISTEN + """
                  a: { endpoints: ["https://10.0.0.1", "http://10.0.0.2"] }
                  b: { endpoints: ["https://10.0.0.1"], tls: false }
                  c: { endpoints: [10.0.0.1:1], tls: { ca: missing.pem } }
                  d: { endpoints: [10.0.0.1:1], tls: { ca: junk.pem } }
                  e: { endpoints: [10.0.0.1:1], tls: { client_certificate: client.pem } }
                  f: { endpoints: [10.0.0.1:1], tls: { server_name: 10.0.0.1 } }
                  g: { endpoints: [10.0.0.1:1], tls: { verify: false, ca: ca.pem } }
                  h: { endpoints: [10.0.0.1:1], tls: { sni: x } }
                sites:
                  - routes:
                      - respond: ok
                """)).containsExactly(
                "t.yaml:3:40: clusters.a.endpoints[1]: a cluster speaks TLS to all of its endpoints or to none, but"
                        + " clusters.a.endpoints[0] is https:// and this one is http://; split them into two clusters",
                "t.yaml:4:46: clusters.b.tls: tls: false contradicts the https:// endpoint at clusters.b.endpoints[0];"
                        + " remove it",
                "t.yaml:5:44: clusters.c.tls.ca: no such file: <dir>/missing.pem",
                "t.yaml:6:44: clusters.d.tls.ca: bad PEM in <dir>/junk.pem: no -----BEGIN line",
                "t.yaml:7:38: clusters.e.tls.client_key: missing; a client certificate needs both client_certificate"
                        + " (the PEM chain) and client_key (its private key)",
                "t.yaml:8:53: clusters.f.tls.server_name: a server name is a DNS name, not an address (SNI cannot"
                        + " carry one); leave server_name out to check the certificate against the endpoint's address",
                "t.yaml:9:55: clusters.g.tls.ca: 'ca' is only used to verify the endpoints' certificates, and verify:"
                        + " false turns that off; remove one of them",
                "t.yaml:10:40: clusters.h.tls.sni: unknown key; expected one of: ca, server_name, verify,"
                        + " client_certificate, client_key, client_key_password");
    }

    // ------------------------------------------------------------------------------------------ routes: problems

    private static final String TWO_CLUSTERS = LISTEN + """
              api:
                endpoints: [127.0.0.1:3000]
              shadow:
                endpoints: [127.0.0.1:3001]
            sites:
              - routes:
            """;

    @Test
    void unknownClusterReferencesWithDidYouMean() {
        assertThat(problems(TWO_CLUSTERS + """
                      - proxy: { cluster: apii }
                      - proxy: { cluster: billing }
                      - proxy: api
                      - proxy: { split: [{ cluster: api, weight: 1 }, { cluster: shadw, weight: 1 }] }
                      - proxy: { cluster: api, mirror: shdow }
                """)).containsExactly(
                "t.yaml:9:27: sites[0].routes[0].proxy.cluster: unknown cluster 'apii'; did you mean 'api'? defined"
                        + " clusters: api, shadow",
                "t.yaml:10:27: sites[0].routes[1].proxy.cluster: unknown cluster 'billing'; defined clusters: api,"
                        + " shadow",
                "t.yaml:11:16: sites[0].routes[2].proxy: expected an upstream URL such as http://127.0.0.1:3000, got"
                        + " 'api'; to proxy to the cluster 'api', write proxy: { cluster: api }",
                "t.yaml:12:66: sites[0].routes[3].proxy.split[1].cluster: unknown cluster 'shadw'; did you mean"
                        + " 'shadow'? defined clusters: api, shadow",
                "t.yaml:13:40: sites[0].routes[4].proxy.mirror: unknown cluster 'shdow'; did you mean 'shadow'?"
                        + " defined clusters: api, shadow");
    }

    @Test
    void clusterReferenceWithoutAnyClusters() {
        assertThat(problems("""
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                      - proxy: { cluster: api }
                """)).containsExactly(
                "t.yaml:4:27: sites[0].routes[0].proxy.cluster: unknown cluster 'api'; no clusters are defined:"
                        + " define it under the top-level 'clusters' key");
    }

    @Test
    void splitLegs() {
        assertThat(problems(TWO_CLUSTERS + """
                      - proxy: { split: [{ cluster: api, weight: 100 }] }
                      - proxy: { split: [{ cluster: api, weight: 0 }, { cluster: shadow, weight: 1001 }] }
                      - proxy: { split: [{ cluster: api, weight: 1 }, { cluster: api, weight: 1 }] }
                      - proxy: { split: [{ cluster: api }, { weight: 1 }, shadow] }
                      - proxy: { split: api }
                """)).containsExactly(
                "t.yaml:9:25: sites[0].routes[0].proxy.split: a split needs at least 2 legs, e.g. [{cluster: v1,"
                        + " weight: 90}, {cluster: v2, weight: 10}]; to send every request to one cluster write"
                        + " cluster: NAME",
                "t.yaml:10:50: sites[0].routes[1].proxy.split[0].weight: must be between 1 and 1000, got 0",
                "t.yaml:10:82: sites[0].routes[1].proxy.split[1].weight: must be between 1 and 1000, got 1001",
                "t.yaml:11:66: sites[0].routes[2].proxy.split[1].cluster: cluster 'api' is already a leg of this"
                        + " split (sites[0].routes[2].proxy.split[0]); give each cluster one leg",
                "t.yaml:12:26: sites[0].routes[3].proxy.split[0].weight: missing; expected a weight between 1 and"
                        + " 1000, e.g. weight: 10",
                "t.yaml:12:44: sites[0].routes[3].proxy.split[1].cluster: missing; expected the cluster of this leg,"
                        + " e.g. cluster: v1",
                "t.yaml:12:59: sites[0].routes[3].proxy.split[2]: expected a mapping (key: value lines), got the"
                        + " string 'shadow'",
                "t.yaml:13:25: sites[0].routes[4].proxy.split: expected a list of weighted clusters such as"
                        + " [{cluster: v1, weight: 90}, {cluster: v2, weight: 10}], got the string 'api'");
    }

    @Test
    void mirrors() {
        assertThat(problems(TWO_CLUSTERS + """
                      - proxy: { cluster: api, mirror: api }
                      - proxy: { split: [{ cluster: api, weight: 1 }, { cluster: shadow, weight: 1 }], mirror: { cluster: shadow } }
                      - proxy: { cluster: api, mirror: { cluster: shadow, percent: 0 } }
                      - proxy: { cluster: api, mirror: { percent: 50%, clone: true } }
                """)).containsExactly(
                "t.yaml:9:40: sites[0].routes[0].proxy.mirror: the mirror must be another cluster than the one the"
                        + " route proxies to; 'api' already is the route's cluster",
                "t.yaml:10:107: sites[0].routes[1].proxy.mirror.cluster: the mirror must be another cluster than the"
                        + " ones the route proxies to; 'shadow' already is a leg of the split",
                "t.yaml:11:68: sites[0].routes[2].proxy.mirror.percent: must be between 1% and 100%, got 0%",
                "t.yaml:12:40: sites[0].routes[3].proxy.mirror.cluster: missing; expected the cluster that receives"
                        + " the copies, e.g. cluster: shadow",
                "t.yaml:12:56: sites[0].routes[3].proxy.mirror.clone: unknown key; expected one of: cluster, percent");
    }

    @Test
    void exactlyOneTargetAndNoUrlOnlyKeysWithClusters() {
        assertThat(problems(TWO_CLUSTERS + """
                      - proxy: { upstream: "http://127.0.0.1:3000", cluster: api }
                      - proxy: { cluster: api, split: [], upstream: "http://127.0.0.1:3000" }
                      - proxy: { preserve_host: true }
                      - proxy:
                          cluster: api
                          connect_timeout: 1s
                          response_timeout: 1s
                          idle_timeout: 1s
                          max_idle_per_loop: 1
                          load_balancing: least_connections
                      - proxy:
                          split: [{ cluster: shadow, weight: 1 }, { cluster: api, weight: 1 }]
                          response_timeout: 1s
                      - proxy: { clustr: api }
                      - cluster: api
                """)).containsExactly(
                "t.yaml:9:53: sites[0].routes[0].proxy.cluster: a proxy has exactly one target, but 'upstream' is"
                        + " already given at line 9; keep one of: upstream, cluster, split",
                "t.yaml:10:32: sites[0].routes[1].proxy.split: a proxy has exactly one target, but 'cluster' is"
                        + " already given at line 10; keep one of: upstream, cluster, split",
                "t.yaml:10:39: sites[0].routes[1].proxy.split: a split needs at least 2 legs, e.g. [{cluster: v1,"
                        + " weight: 90}, {cluster: v2, weight: 10}]; to send every request to one cluster write"
                        + " cluster: NAME",
                "t.yaml:10:43: sites[0].routes[1].proxy.upstream: a proxy has exactly one target, but 'cluster' is"
                        + " already given at line 10; keep one of: upstream, cluster, split",
                "t.yaml:11:16: sites[0].routes[2].proxy: no target; set exactly one of: upstream (a URL such as"
                        + " http://127.0.0.1:3000), cluster (the name of a cluster), split (weighted clusters)",
                "t.yaml:14:11: sites[0].routes[3].proxy.connect_timeout: 'connect_timeout' applies only to a proxy"
                        + " to an upstream URL; set it on the cluster: clusters.api.timeouts.connect",
                "t.yaml:15:11: sites[0].routes[3].proxy.response_timeout: 'response_timeout' applies only to a proxy"
                        + " to an upstream URL; set it on the cluster: clusters.api.timeouts.first_byte, or for this"
                        + " route only: timeouts: { first_byte: ... }",
                "t.yaml:16:11: sites[0].routes[3].proxy.idle_timeout: 'idle_timeout' applies only to a proxy to an"
                        + " upstream URL; set it on the cluster: clusters.api.timeouts.idle, or for this route only:"
                        + " timeouts: { idle: ... }",
                "t.yaml:17:11: sites[0].routes[3].proxy.max_idle_per_loop: 'max_idle_per_loop' applies only to a"
                        + " proxy to an upstream URL; set it on the cluster: clusters.api.pool.max_idle",
                "t.yaml:18:11: sites[0].routes[3].proxy.load_balancing: unknown key here; 'load_balancing' belongs"
                        + " under 'clusters.<name>'; expected one of: upstream, cluster, split, mirror,"
                        + " connect_timeout, response_timeout, idle_timeout, preserve_host, strip_prefix,"
                        + " set_headers, max_idle_per_loop, timeouts, streaming, websocket,"
                        + " grpc_web",
                "t.yaml:21:11: sites[0].routes[4].proxy.response_timeout: 'response_timeout' applies only to a proxy"
                        + " to an upstream URL; set it on the clusters of the split, e.g."
                        + " clusters.shadow.timeouts.first_byte, or for this route only: timeouts: { first_byte: ... }",
                "t.yaml:22:18: sites[0].routes[5].proxy.clustr: unknown key; did you mean 'cluster'? expected one"
                        + " of: upstream, cluster, split, mirror, connect_timeout, response_timeout, idle_timeout,"
                        + " preserve_host, strip_prefix, set_headers, max_idle_per_loop, timeouts, streaming, websocket,"
                        + " grpc_web",
                "t.yaml:23:9: sites[0].routes[6].cluster: unknown key here; 'cluster' belongs under 'proxy';"
                        + " expected one of: name, path, regex, methods, headers, error_pages, static, proxy,"
                        + " respond, redirect");
    }

    @Test
    void everyProblemAtOnceAcrossClustersAndRoutes() {
        List<String> all = problems(TWO_CLUSTERS.replace("endpoints: [127.0.0.1:3001]", "endpoints: []") + """
                      - proxy: { cluster: shadow }
                      - proxy: { cluster: nope }
                """);
        assertThat(all).containsExactly(
                "t.yaml:6:16: clusters.shadow.endpoints: no endpoints; list at least one, e.g. [\"127.0.0.1:3000\"]",
                "t.yaml:10:27: sites[0].routes[1].proxy.cluster: unknown cluster 'nope'; defined clusters: api,"
                        + " shadow");
    }
}
