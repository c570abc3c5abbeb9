package dev.turnpike.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/** Every {@code examples/*.yaml} in the repository must load, and must be runnable on this machine as written. */
class ExamplesTest {

    static final Path EXAMPLES = Path.of("examples");

    static List<Path> examples() throws IOException {
        if (!Files.isDirectory(EXAMPLES)) {
            fail("no examples/ directory in " + Path.of("").toAbsolutePath());
        }
        try (Stream<Path> files = Files.list(EXAMPLES)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".yaml")).sorted().toList();
        }
    }

    @Test
    void thereAreExamples() throws IOException {
        assertThat(examples()).as("examples/*.yaml").isNotEmpty();
    }

    /** The first YAML block of docs/configuration.md is examples/static-and-api.yaml, so the docs' example runs. */
    @Test
    void docsOpeningExampleIsAnExample() throws IOException {
        String docs = Files.readString(Path.of("docs/configuration.md"));
        int start = docs.indexOf("```yaml\n") + "```yaml\n".length();
        String block = docs.substring(start, docs.indexOf("```", start));
        assertThat(block).isEqualTo(Files.readString(EXAMPLES.resolve("static-and-api.yaml")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void exampleLoads(Path file) {
        TurnpikeConfig config;
        try {
            config = ConfigLoader.load(file);
        } catch (ConfigException e) {
            throw new AssertionError(file + " does not load:\n" + e.getMessage());
        }
        assertThat(config.listeners()).isNotEmpty();
        assertThat(config.sites()).isNotEmpty();
        for (ListenerConfig l : config.listeners()) {
            assertThat(l.host()).as("%s: examples listen on loopback only", l.position()).isIn("127.0.0.1", "::1");
        }
        for (SiteConfig site : config.sites()) {
            for (RouteConfig route : site.routes()) {
                if (route.handler() instanceof HandlerConfig.Proxy p && p.upstream() != null) {
                    assertThat(p.upstream().getHost()).as("%s: proxy targets are on loopback", route.position())
                            .isIn("127.0.0.1", "localhost", "[::1]");
                }
            }
        }
        for (ClusterConfig cluster : config.clusters()) {
            for (ClusterConfig.EndpointConfig e : cluster.endpoints()) {
                if (e.address() instanceof ClusterConfig.Address.Tcp tcp) {
                    assertThat(tcp.host()).as("%s: cluster endpoints are on loopback", e.position())
                            .isIn("127.0.0.1", "localhost", "::1");
                }
            }
        }
    }
}
