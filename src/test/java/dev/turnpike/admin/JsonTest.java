package dev.turnpike.admin;

import dev.turnpike.config.ConfigLoader;
import dev.turnpike.config.ConfigTree;
import dev.turnpike.config.TurnpikeConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JsonTest {

    @Test
    void aConfigurationTreeReadsBackEqual() throws Exception {
        TurnpikeConfig c = ConfigLoader.load(Path.of("examples/cluster.yaml"), Map.of());
        Map<String, Object> tree = ConfigTree.of(c);
        assertThat(Json.parse(Json.write(tree))).isEqualTo(tree);
    }

    @Test
    void plainValues() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "a \"quoted\" line\n");
        m.put("n", 42L);
        m.put("d", 0.25);
        m.put("b", true);
        m.put("z", null);
        m.put("l", Arrays.asList(1L, "two", null));
        assertThat(Json.parse(Json.write(m))).isEqualTo(m);
        assertThat(Json.parse("{\"level\": null}")).isEqualTo(java.util.Collections.singletonMap("level", null));
        assertThat(Json.parse("[1, 2.5]")).isEqualTo(List.of(1L, 2.5));
    }

    @Test
    void notJsonIsAnIllegalArgument() {
        assertThatThrownBy(() -> Json.parse("DEBUG")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("not valid JSON");
        assertThatThrownBy(() -> Json.parse("{} {}")).hasMessageContaining("more after it");
        assertThatThrownBy(() -> Json.parse("")).hasMessageContaining("got nothing");
    }
}
