package dev.turnpike.tls;

import dev.turnpike.server.Fixture;
import dev.turnpike.testing.WsClient;
import dev.turnpike.testing.WsUpstream;
import io.netty.handler.ssl.SslContextBuilder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** WebSockets on a TLS listener (wss://): the switch leaves the TLS handler in place and the splice runs inside it. */
class SecureWebSocketIT {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void aWebSocketRunsOverTls(String engine) throws Exception {
        TestPki pki = new TestPki(TestPki.KeyType.EC);
        pki.server(TestPki.KeyType.EC, "chat.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        try (WsUpstream up = WsUpstream.start("a");
             Fixture f = Fixture.start("""
                     listeners:
                       - address: "127.0.0.1:0"
                         tls: { engine: %s, cert: s.pem, key: s.key }
                     clusters:
                       chat:
                         endpoints: [%s]
                     sites:
                       - routes:
                           - proxy: { cluster: chat }
                     """.formatted(engine, up.address()), Map.of(), dir);
             WsClient c = WsClient.connectTls(f.port(), "/ws", SslContextBuilder.forClient().trustManager(pki.ca)
                     .build(), "chat.test")) {
            assertThat(c.handshakeResponse.status().code()).isEqualTo(101);
            byte[] big = new byte[300_000];
            new java.util.Random(9).nextBytes(big);
            c.send(new io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame(
                    io.netty.buffer.Unpooled.wrappedBuffer(big)));
            assertThat(c.next().data()).isEqualTo(big);
            assertThat(up.handshakes.getFirst().get("X-Forwarded-Proto")).isEqualTo("https");
        }
    }
}
