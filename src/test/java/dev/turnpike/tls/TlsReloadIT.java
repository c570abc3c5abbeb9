package dev.turnpike.tls;

import dev.turnpike.config.ConfigLoader;
import dev.turnpike.reload.ConfigSource;
import dev.turnpike.reload.ReloadResult;
import dev.turnpike.server.HandlerFactory;
import dev.turnpike.server.TurnpikeServer;
import dev.turnpike.testing.RawClient;
import io.netty.handler.ssl.OpenSsl;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLSocket;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Reloading a server with a TLS listener: kept as it is, or given new certificates for new connections only. */
class TlsReloadIT {
    static TestPki pki;

    @TempDir
    Path dir;

    private TurnpikeServer server;
    private Path file;

    @BeforeAll
    static void makeCa() throws Exception {
        pki = new TestPki(TestPki.KeyType.EC);
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.shutdown(Duration.ZERO);
        }
    }

    private static String yaml(String cert, String body) {
        return """
                access_log: off
                listeners:
                  - address: "127.0.0.1:0"
                    name: secure
                    tls:
                      certificates:
                        - { cert: %s.pem, key: %s.key }
                sites:
                  - name: main
                    routes:
                      - { name: hello, respond: "%s" }
                """.formatted(cert, cert, body);
    }

    private void start(String yaml) throws Exception {
        file = dir.resolve("turnpike.yaml");
        Files.writeString(file, yaml);
        server = TurnpikeServer.start(ConfigLoader.load(file, Map.of()), HandlerFactory.DEFAULT,
                ConfigSource.file(file, Map.of()));
    }

    private ReloadResult reload(String yaml) throws Exception {
        Files.writeString(file, yaml);
        return server.reload("SIGHUP").get(30, TimeUnit.SECONDS);
    }

    private int port() {
        return server.boundAddresses().getFirst().getPort();
    }

    private BigInteger served() throws Exception {
        try (SSLSocket s = TlsClient.to(port()).trust(pki.ca).sni("a.test").handshake()) {
            return TlsClient.peer(s).getSerialNumber();
        }
    }

    private String get() throws Exception {
        return TlsClient.to(port()).trust(pki.ca).sni("a.test").get("a.test", "/").bodyText();
    }

    /**
     * Nothing loads BoringSSL while no listener uses TLS (startup does not pay for it); the first TLS listener, even
     * one that a reload adds, still gets it when it loads here.
     */
    @Test
    void aListenerThatGainsTlsInAReloadUsesBoringSslWhereItLoads() throws Exception {
        Assumptions.assumeTrue(OpenSsl.isAvailable(), "BoringSSL does not load on this machine");
        TestPki.Issued a = pki.server(TestPki.KeyType.EC, "a.test");
        a.write(dir, "a", TestPki.KeyFormat.PKCS8);
        start("""
                access_log: off
                listeners:
                  - address: "127.0.0.1:0"
                    name: secure
                sites:
                  - name: main
                    routes:
                      - { name: hello, respond: "plain" }
                """);
        assertThat(server.tlsListener("secure")).isEmpty();

        reload(yaml("a", "secured"));

        assertThat(server.tlsListener("secure")).get().extracting(TlsListener::engineName).isEqualTo("openssl");
        assertThat(get()).isEqualTo("secured");
        assertThat(served()).isEqualTo(a.serial());
    }

    @Test
    void aReloadThatLeavesTheListenerAloneKeepsItsTlsSide() throws Exception {
        TestPki.Issued a = pki.server(TestPki.KeyType.EC, "a.test");
        a.write(dir, "a", TestPki.KeyFormat.PKCS8);
        start(yaml("a", "one"));
        TlsListener before = server.tlsListener("secure").orElseThrow();

        assertThat(reload(yaml("a", "two")).diff().lines()).containsExactly("~ route main/hello: handler.body");

        assertThat(server.tlsListener("secure")).containsSame(before);
        assertThat(get()).isEqualTo("two");
        assertThat(served()).isEqualTo(a.serial());
    }

    @Test
    void newCertificatesServeNewConnectionsWhileOpenOnesCarryOn() throws Exception {
        TestPki.Issued a = pki.server(TestPki.KeyType.EC, "a.test");
        TestPki.Issued b = pki.server(TestPki.KeyType.EC, "a.test");
        a.write(dir, "a", TestPki.KeyFormat.PKCS8);
        b.write(dir, "b", TestPki.KeyFormat.PKCS8);
        start(yaml("a", "one"));
        int port = port();
        try (SSLSocket kept = TlsClient.to(port).trust(pki.ca).sni("a.test").handshake();
             RawClient c = RawClient.over(kept)) {
            assertThat(c.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n").read().bodyText()).isEqualTo("one");
            TlsListener before = server.tlsListener("secure").orElseThrow();

            ReloadResult r = reload(yaml("b", "two"));

            assertThat(r.outcome()).isEqualTo(ReloadResult.Outcome.APPLIED);
            assertThat(r.diff().lines()).containsExactly("~ listener secure: tls.certificates",
                    "~ route main/hello: handler.body");
            assertThat(port()).as("the same port, never closed").isEqualTo(port);
            assertThat(server.tlsListener("secure")).isPresent().get().isNotSameAs(before);
            assertThat(served()).as("a new connection gets the new certificate").isEqualTo(b.serial());
            assertThat(c.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n").read().bodyText())
                    .as("the open connection carries on, on the new routes").isEqualTo("two");
            assertThat(TlsClient.peer(kept).getSerialNumber()).isEqualTo(a.serial());
        }
    }

    @Test
    void aMissingKeyIsRefusedAndTheRunningCertificateStays() throws Exception {
        TestPki.Issued a = pki.server(TestPki.KeyType.EC, "a.test");
        a.write(dir, "a", TestPki.KeyFormat.PKCS8);
        start(yaml("a", "one"));

        ReloadResult r = reload(yaml("missing", "two"));

        assertThat(r.outcome()).isEqualTo(ReloadResult.Outcome.REFUSED);
        assertThat(r.problems()).anySatisfy(p -> assertThat(p).contains("listeners[0].tls"));
        assertThat(get()).isEqualTo("one");
        assertThat(served()).isEqualTo(a.serial());
    }
}
