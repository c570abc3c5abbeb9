package dev.turnpike.websocket;

import dev.turnpike.config.ConfigLoader;
import dev.turnpike.reload.ConfigSource;
import dev.turnpike.reload.ReloadResult;
import dev.turnpike.server.HandlerFactory;
import dev.turnpike.server.TurnpikeServer;
import dev.turnpike.testing.H2WsClient;
import dev.turnpike.testing.WsClient;
import dev.turnpike.testing.WsUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * WebSockets across reloads: one on a route the reload leaves alone keeps going; one on a route that changed ends
 * with a close frame (1001) when the reload's grace period is over, so that its client reconnects under the new
 * configuration, like a cut request would, but gracefully.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WebSocketReloadTest {
    @TempDir
    Path dir;

    private static String yaml(WsUpstream up, String chatIdle) {
        return "listen: \"127.0.0.1:0\"\naccess_log: off\nserver: {reload_grace: 500ms}\n"
                + "clusters:\n  chat:\n    endpoints: [" + up.address() + "]\n"
                + "sites:\n  - routes:\n"
                + "      - {name: chat, path: /ws/chat*, proxy: {cluster: chat, websocket: {idle_timeout: " + chatIdle
                + "}}}\n"
                + "      - {name: other, path: /ws*, proxy: {cluster: chat}}\n";
    }

    @Test
    void aReloadEndsWebSocketsOnChangedRoutesGracefullyAndLeavesTheOthers() throws Exception {
        try (WsUpstream up = WsUpstream.start("a")) {
            Path file = dir.resolve("turnpike.yaml");
            Files.writeString(file, yaml(up, "1h"));
            TurnpikeServer server = TurnpikeServer.start(ConfigLoader.load(file, Map.of()), HandlerFactory.DEFAULT,
                    ConfigSource.file(file, Map.of()));
            try (WsClient changed = WsClient.connect(server.boundAddresses().getFirst().getPort(), "/ws/chat");
                 WsClient untouched = WsClient.connect(server.boundAddresses().getFirst().getPort(), "/ws")) {
                Files.writeString(file, yaml(up, "2h"));
                ReloadResult r = server.reload("test").get(30, TimeUnit.SECONDS);
                assertThat(r.applied()).as(r.toString()).isTrue();

                WsClient.Frame f = changed.next(5000);
                assertThat(f.type()).isEqualTo("close");
                assertThat(f.closeCode()).isEqualTo(1001);
                assertThat(changed.awaitClosed(5000)).isTrue();

                untouched.sendText("still here?");
                assertThat(untouched.next().text()).isEqualTo("still here?");
                assertThat(untouched.channel.isActive()).isTrue();
            } finally {
                server.shutdown(Duration.ZERO);
            }
        }
    }

    @Test
    void overHttp2TooAndOnTheSameConnection() throws Exception {
        try (WsUpstream up = WsUpstream.start("a")) {
            Path file = dir.resolve("turnpike.yaml");
            Files.writeString(file, yaml(up, "1h"));
            TurnpikeServer server = TurnpikeServer.start(ConfigLoader.load(file, Map.of()), HandlerFactory.DEFAULT,
                    ConfigSource.file(file, Map.of()));
            try (H2WsClient c = H2WsClient.connect(server.boundAddresses().getFirst().getPort())) {
                H2WsClient.Ws changed = c.websocket("/ws/chat");
                H2WsClient.Ws untouched = c.websocket("/ws");
                Files.writeString(file, yaml(up, "2h"));
                ReloadResult r = server.reload("test").get(30, TimeUnit.SECONDS);
                assertThat(r.applied()).as(r.toString()).isTrue();

                WsClient.Frame f = changed.next(5000);
                assertThat(f.type()).isEqualTo("close");
                assertThat(f.closeCode()).isEqualTo(1001);
                assertThat(changed.awaitClosed(5000)).isTrue();

                untouched.sendText("still here?");
                assertThat(untouched.next().text()).isEqualTo("still here?");
                assertThat(untouched.stream.isActive()).isTrue();
            } finally {
                server.shutdown(Duration.ZERO);
            }
        }
    }
}
