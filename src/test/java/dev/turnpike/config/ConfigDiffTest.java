package dev.turnpike.config;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link ConfigTree} and {@link ConfigDiff}: what a reload or {@code validate --diff} reports. */
class ConfigDiffTest {

    private static TurnpikeConfig parse(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, "t.yaml", Path.of("").toAbsolutePath(), Map.of());
    }

    private static final String BEFORE = """
            server: { shutdown_timeout: 10s }
            listeners:
              - { address: "127.0.0.1:8080", name: public }
              - { address: "127.0.0.1:8081" }
            clusters:
              app: { endpoints: ["127.0.0.1:3000"] }
              old: { endpoints: ["127.0.0.1:3001"] }
            sites:
              - name: main
                routes:
                  - { name: api, path: /api/*, proxy: { cluster: app } }
                  - { name: legacy, path: /old/*, proxy: { cluster: old } }
                  - { name: hello, path: /hello, respond: hi }
                  - { name: gone, path: /gone, respond: bye }
              - host: shop.example
                routes:
                  - respond: shop
            """;

    @Test
    void sameConfigurationHasNoChangesEvenWhenBlocksMove() throws Exception {
        String moved = BEFORE.replace("      - { name: hello, path: /hello, respond: hi }\n",
                "      - name: hello\n        path: /hello\n        respond: hi\n");
        assertThat(moved).isNotEqualTo(BEFORE);
        ConfigDiff diff = ConfigDiff.between(parse(BEFORE), parse(moved));
        assertThat(diff.isEmpty()).isTrue();
        assertThat(diff.summary()).isEqualTo("no changes");
    }

    @Test
    void reportsEachPartByItsName() throws Exception {
        TurnpikeConfig before = parse(BEFORE);
        TurnpikeConfig after = parse("""
                server: { shutdown_timeout: 20s, event_loops: 2 }
                listeners:
                  - { address: "127.0.0.1:8080", name: public, limits: { max_connections: 10 } }
                  - { address: "127.0.0.1:8082" }
                clusters:
                  app: { endpoints: ["127.0.0.1:3000", "127.0.0.1:3002"] }
                  new: { endpoints: ["127.0.0.1:3003"] }
                sites:
                  - name: main
                    routes:
                      - { name: api, path: /api/*, proxy: { cluster: app } }
                      - { name: legacy, path: /old/*, proxy: { cluster: new } }
                      - { name: hello, path: /hello, respond: hello }
                      - { name: added, path: /added, respond: new }
                  - host: blog.example
                    routes:
                      - respond: blog
                admin: true
                """);
        ConfigDiff diff = ConfigDiff.between(before, after);
        assertThat(diff.lines()).containsExactly(
                "~ listener 127.0.0.1:8080: limits.max_connections",
                "- listener 127.0.0.1:8081",
                "+ listener 127.0.0.1:8082",
                "- site shop.example",
                "+ site blog.example",
                "~ route main/legacy: handler.cluster",
                "~ route main/hello: handler.body",
                "- route main/gone",
                "+ route main/added",
                "~ cluster app: endpoints",
                "- cluster old",
                "+ cluster new",
                "~ server: event_loops, shutdown_timeout",
                "~ admin: enabled");
        assertThat(diff.restartNeeded()).containsExactly("server.event_loops");
        assertThat(diff.summary()).startsWith("14 changes: ~ listener 127.0.0.1:8080: limits.max_connections; - ");

        // A request in flight on api (its cluster changed), legacy, hello or gone is cut after the grace period;
        // shop.example's route went away with its site.
        assertThat(ConfigDiff.affectedRoutes(ConfigTree.of(before, false), ConfigTree.of(after, false)))
                .containsExactlyInAnyOrder("main/api", "main/legacy", "main/hello", "main/gone", "shop.example/shop.example#0");
    }

    @Test
    void aRouteIsUntouchedWhenNeitherItNorItsClustersChange() throws Exception {
        TurnpikeConfig before = parse(BEFORE);
        TurnpikeConfig after = parse(BEFORE.replace("respond: bye", "respond: farewell"));
        assertThat(ConfigDiff.affectedRoutes(ConfigTree.of(before, false), ConfigTree.of(after, false)))
                .containsExactly("main/gone");
    }

    @Test
    void reorderedRoutesAreAChangeOfTheSite() throws Exception {
        String hello = "      - { name: hello, path: /hello, respond: hi }\n";
        String gone = "      - { name: gone, path: /gone, respond: bye }\n";
        String reordered = BEFORE.replace(hello + gone, gone + hello);
        assertThat(reordered).isNotEqualTo(BEFORE);
        assertThat(ConfigDiff.between(parse(BEFORE), parse(reordered)).lines())
                .containsExactly("~ site main: routes (order)");
    }

    @Test
    @SuppressWarnings("unchecked")
    void treesUseTheYamlNamesAndPlainValues() throws Exception {
        Map<String, Object> tree = ConfigTree.of(parse(BEFORE));
        assertThat(tree.get("source")).isEqualTo("t.yaml");
        @SuppressWarnings("unchecked")
        Map<String, Object> server = (Map<String, Object>) tree.get("server");
        assertThat(server).containsEntry("shutdown_timeout", "10s").containsEntry("event_loops", 0L)
                .containsEntry("allocator", "pooled").containsEntry("reload_grace", "30s")
                .containsEntry("request_id_header", "X-Request-ID").containsEntry("trusted_proxies", List.of());
        @SuppressWarnings("unchecked")
        Map<String, Object> route = (Map<String, Object>) ((List<Map<String, Object>>) ((List<Map<String, Object>>)
                tree.get("sites")).getFirst().get("routes")).getFirst();
        assertThat(route).containsEntry("name", "api").containsEntry("path", Map.of("type", "prefix", "prefix", "/api/"))
                .doesNotContainKey("position");
        assertThat((Map<String, Object>) route.get("handler")).containsEntry("type", "proxy").containsEntry("cluster", "app");
        assertThat(ConfigTree.snake("maxConnectionsPerClient")).isEqualTo("max_connections_per_client");
    }

    @Test
    void credentialsInHeadersAreRedactedAndLongTextIsFingerprinted() throws Exception {
        String body = "x".repeat(2000);
        TurnpikeConfig c = parse("""
                listen: "127.0.0.1:8080"
                sites:
                  - routes:
                      - path: /api/*
                        proxy:
                          upstream: http://127.0.0.1:3000
                          set_headers: { Authorization: "Bearer abc", X-Env: prod }
                      - respond: "%s"
                """.formatted(body));
        String json = ConfigTree.of(c).toString();
        assertThat(json).doesNotContain("Bearer abc").contains("Authorization=<redacted>").contains("X-Env=prod")
                .doesNotContain(body).contains("<2000 bytes, sha256 ");
        assertThat(ConfigTree.of(c, false).toString()).contains("Bearer abc");
    }

    /** Shaped like the TLS settings: a key's path is shown, its password never. */
    record KeySettings(java.nio.file.Path key, java.util.Optional<String> keyPassword, byte[] material) {}

    @Test
    void passwordsAndKeyMaterialAreRedacted() {
        Map<String, Object> tree = ConfigTree.of(new KeySettings(java.nio.file.Path.of("/etc/tls/site.key"),
                java.util.Optional.of("hunter2"), new byte[] {1, 2}), false);
        assertThat(tree).containsEntry("key", "/etc/tls/site.key").containsEntry("material", ConfigTree.REDACTED)
                .containsEntry("key_password", "hunter2");
        assertThat(ConfigTree.of(new KeySettings(java.nio.file.Path.of("/k"), java.util.Optional.of("hunter2"),
                new byte[0]), true)).containsEntry("key_password", ConfigTree.REDACTED);
    }
}
