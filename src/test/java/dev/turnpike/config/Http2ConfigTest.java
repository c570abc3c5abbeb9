package dev.turnpike.config;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** listeners[].http2: defaults, every key read, and file:line:col errors for bad values. */
class Http2ConfigTest {
    static TurnpikeConfig parse(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, "t.yaml", Path.of("."));
    }

    static List<String> problems(String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
        assertThat(e).as("expected a ConfigException").isNotNull();
        return e.problems().stream().map(Object::toString).toList();
    }

    @Test
    void defaultsAreSafe() throws Exception {
        ListenerConfig.Http2 h = parse("listen: \"127.0.0.1:0\"\nsites: [{routes: [{respond: ok}]}]\n")
                .listeners().getFirst().http2();
        assertThat(h).isEqualTo(ListenerConfig.Http2.defaults());
        assertThat(h.enabled()).isTrue();
        assertThat(h.h2cUpgrade()).isFalse();
        assertThat(h.maxConcurrentStreams()).isEqualTo(128);
        assertThat(h.maxResets()).isEqualTo(200);
    }

    @Test
    void everyKeyIsRead() throws Exception {
        ListenerConfig.Http2 h = parse("""
                listeners:
                  - address: "127.0.0.1:0"
                    http2:
                      enabled: false
                      h2c_upgrade: true
                      max_concurrent_streams: 64
                      initial_window_size: 1MiB
                      connection_window_size: 8MiB
                      max_frame_size: 32KiB
                      max_header_list_size: 16KiB
                      header_table_size: 8KiB
                      max_continuation_frames: 8
                      max_resets: 100
                      reset_window: 10s
                      max_control_frames: 500
                      control_frame_window: 5s
                      max_queued_control_frames: 2000
                      flow_control_timeout: 20s
                sites: [{routes: [{respond: ok}]}]
                """).listeners().getFirst().http2();
        assertThat(h).isEqualTo(new ListenerConfig.Http2(false, true, 64, 1 << 20, 8 << 20, 32 << 10, 16 << 10,
                8 << 10, 8, 100, Duration.ofSeconds(10), 500, Duration.ofSeconds(5), 2000, Duration.ofSeconds(20)));
    }

    @Test
    void badValuesArePinpointed() {
        assertThat(problems("""
                listeners:
                  - address: "127.0.0.1:0"
                    http2:
                      max_concurent_streams: 10
                      max_frame_size: 1KiB
                      connection_window_size: 1KiB
                      reset_window: 1500ms
                      flow_control_timeout: 0s
                      h2c_upgrade: maybe
                sites: [{routes: [{respond: ok}]}]
                """)).satisfiesExactly(
                p -> assertThat(p).startsWith("t.yaml:4:7: listeners[0].http2.max_concurent_streams: unknown key;"
                        + " did you mean 'max_concurrent_streams'?"),
                p -> assertThat(p).startsWith("t.yaml:5:23: listeners[0].http2.max_frame_size:"),
                p -> assertThat(p).startsWith("t.yaml:6:31: listeners[0].http2.connection_window_size:"),
                p -> assertThat(p).isEqualTo("t.yaml:7:21: listeners[0].http2.reset_window: expected whole seconds,"
                        + " at least 1s, e.g. 30s; got the string '1500ms'"),
                p -> assertThat(p).startsWith("t.yaml:8:29: listeners[0].http2.flow_control_timeout: must be longer than 0"),
                p -> assertThat(p).startsWith("t.yaml:9:20: listeners[0].http2.h2c_upgrade:"));
    }

    @Test
    void http2UnderTheWrongKeyIsHinted() {
        assertThat(problems("""
                listeners:
                  - address: "127.0.0.1:0"
                    max_concurrent_streams: 10
                sites: [{routes: [{respond: ok}]}]
                """)).singleElement().asString()
                .contains("'max_concurrent_streams' belongs under 'http2'");
    }
}
