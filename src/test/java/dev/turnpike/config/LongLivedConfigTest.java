package dev.turnpike.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The proxy keys for long-lived traffic: websocket, streaming and a route's own timeouts. */
class LongLivedConfigTest {
    @TempDir
    Path dir;

    private HandlerConfig.Proxy proxy(String proxy) throws ConfigException {
        TurnpikeConfig c = ConfigLoader.parse(yaml(proxy), "t.yaml", dir, Map.of());
        return (HandlerConfig.Proxy) c.sites().getFirst().routes().getFirst().handler();
    }

    private List<String> problems(String proxy) {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.parse(yaml(proxy), "t.yaml", dir, Map.of()));
        assertThat(e).as("expected a ConfigException").isNotNull();
        return e.problems().stream().map(Object::toString).toList();
    }

    /** The proxy mapping is on line 8, its keys one per line from line 9 when written as a block. */
    private static String yaml(String proxy) {
        return """
                listen: "127.0.0.1:8080"
                clusters:
                  chat:
                    endpoints: [127.0.0.1:3000]
                sites:
                  - routes:
                      - path: /ws*
                        proxy:
                """ + proxy.indent(10);
    }

    @Test
    void defaultsAreWebSocketsOnRawWithAnHourOfIdle() throws Exception {
        HandlerConfig.Proxy p = proxy("cluster: chat");
        assertThat(p.websocket()).isEqualTo(HandlerConfig.WebSocket.defaults());
        assertThat(p.websocket().enabled()).isTrue();
        assertThat(p.websocket().inspect()).isFalse();
        assertThat(p.websocket().idleTimeout()).isEqualTo(Duration.ofHours(1));
        assertThat(p.streaming()).isFalse();
        assertThat(p.timeouts()).isEqualTo(HandlerConfig.RouteTimeouts.NONE);
        assertThat(proxy("cluster: chat\nwebsocket: true").websocket()).isEqualTo(HandlerConfig.WebSocket.defaults());
        assertThat(proxy("cluster: chat\nwebsocket: false").websocket().enabled()).isFalse();
    }

    @Test
    void everyKeyIsRead() throws Exception {
        HandlerConfig.Proxy p = proxy("""
                cluster: chat
                streaming: true
                timeouts: { first_byte: 5m, idle: 10m, total: 0s }
                websocket:
                  inspect: true
                  max_frame_size: 64KiB
                  max_message_size: 1MiB
                  idle_timeout: 15m
                  max_connections: 10000
                  max_connections_per_client: 20
                  allowed_origins: ["https://Chat.Example.com", "https://*.example.org:8443"]
                """);
        assertThat(p.streaming()).isTrue();
        assertThat(p.timeouts()).isEqualTo(new HandlerConfig.RouteTimeouts(Optional.of(Duration.ofMinutes(5)),
                Optional.of(Duration.ofMinutes(10)), Optional.of(Duration.ZERO)));
        assertThat(p.websocket()).isEqualTo(new HandlerConfig.WebSocket(true, true, 64 * 1024, 1024 * 1024,
                Duration.ofMinutes(15), 10000, 20,
                List.of("https://chat.example.com", "https://*.example.org:8443")));
    }

    @Test
    void theUrlFormTakesWebSocketAndStreamingButNotRouteTimeouts() throws Exception {
        HandlerConfig.Proxy p = proxy("upstream: http://127.0.0.1:3000\nstreaming: true\nwebsocket: {idle_timeout: 5m}");
        assertThat(p.streaming()).isTrue();
        assertThat(p.websocket().idleTimeout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(problems("upstream: http://127.0.0.1:3000\ntimeouts: { first_byte: 5m }")).containsExactly(
                "t.yaml:10:11: sites[0].routes[0].proxy.timeouts: 'timeouts' applies to a proxy to a cluster or a"
                        + " split; for an upstream URL set response_timeout and idle_timeout on the proxy");
    }

    @Test
    void mistakesArePointedAt() {
        assertThat(problems("""
                cluster: chat
                timeouts: { connect: 1s, first_bite: 5m, idle: 0s }
                streaming: yes please
                websocket:
                  max_frame_size: 1MiB
                  idle_timeout: forever
                  allowed_origins: ["chat.example.com", "https://chat.example.com/app", "ftp://x.example"]
                """)).containsExactly(
                "t.yaml:10:23: sites[0].routes[0].proxy.timeouts.connect: unknown key here; 'connect' belongs under"
                        + " 'clusters.<name>.timeouts'; expected one of: first_byte, idle, total",
                "t.yaml:10:36: sites[0].routes[0].proxy.timeouts.first_bite: unknown key; did you mean 'first_byte'?"
                        + " expected one of: first_byte, idle, total",
                "t.yaml:10:58: sites[0].routes[0].proxy.timeouts.idle: must be longer than 0, got 0s",
                "t.yaml:11:22: sites[0].routes[0].proxy.streaming: expected true or false, got the string 'yes please'",
                "t.yaml:13:13: sites[0].routes[0].proxy.websocket.max_frame_size: 'max_frame_size' is only enforced"
                        + " when frames are inspected; add inspect: true, or remove it",
                "t.yaml:14:27: sites[0].routes[0].proxy.websocket.idle_timeout: " + durationProblem("forever"),
                "t.yaml:15:31: sites[0].routes[0].proxy.websocket.allowed_origins[0]: expected an origin such as"
                        + " https://chat.example.com or https://*.example.com, got 'chat.example.com'",
                "t.yaml:15:51: sites[0].routes[0].proxy.websocket.allowed_origins[1]: an origin has no path, query or"
                        + " user info: expected an origin such as https://chat.example.com or https://*.example.com,"
                        + " got 'https://chat.example.com/app'",
                "t.yaml:15:83: sites[0].routes[0].proxy.websocket.allowed_origins[2]: an origin's scheme is http or"
                        + " https, got 'ftp://x.example'");
        assertThat(problems("""
                cluster: chat
                websocket: { inspect: true, max_frame_size: 2MiB, max_message_size: 1MiB }
                """)).containsExactly(
                "t.yaml:10:55: sites[0].routes[0].proxy.websocket.max_frame_size: a frame cannot be larger than a"
                        + " message: max_frame_size 2MiB is above max_message_size 1MiB");
        assertThat(problems("cluster: chat\ninspect: true")).containsExactly(
                "t.yaml:10:11: sites[0].routes[0].proxy.inspect: unknown key here; 'inspect' belongs under"
                        + " 'websocket'; expected one of: upstream, cluster, split, mirror, connect_timeout,"
                        + " response_timeout, idle_timeout, preserve_host, strip_prefix, set_headers,"
                        + " max_idle_per_loop, timeouts, streaming, websocket, grpc_web");
    }

    private static String durationProblem(String text) {
        try {
            Durations.parse(text);
            throw new AssertionError("'" + text + "' parsed");
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }
}
