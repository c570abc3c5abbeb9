package dev.turnpike.tls;

import dev.turnpike.server.Fixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.SimpleDateFormat;
import java.util.List;
import java.util.Map;
import java.util.TimeZone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * OCSP stapling against a real responder: {@code openssl ocsp} serving an index of the test CA's certificates.
 * The client is {@code openssl s_client -status}, which prints the stapled response it got.
 */
class OcspStaplingIT {
    @TempDir
    Path dir;

    private TestPki pki;
    private Process responder;
    private int responderPort;

    @BeforeEach
    void setUp() throws Exception {
        assumeThat(OpensslCli.available()).as("openssl command line tool").isTrue();
        pki = new TestPki(TestPki.KeyType.EC);
        pki.writeCa(dir.resolve("ca.pem"));
        Files.writeString(dir.resolve("ca.key"), TestPki.keyPem(pki.caKeys.getPrivate(), TestPki.KeyFormat.PKCS8));
        try (ServerSocket s = new ServerSocket(0)) {
            responderPort = s.getLocalPort();
        }
    }

    @AfterEach
    void stopResponder() {
        if (responder != null) {
            responder.destroyForcibly();
        }
    }

    private String url() {
        return "http://127.0.0.1:" + responderPort;
    }

    /** {@code openssl ocsp} as a responder for {@code certs} ("V" good, "R" revoked), signing as the CA. */
    private void startResponder(List<TestPki.Issued> good, List<TestPki.Issued> revoked) throws Exception {
        SimpleDateFormat f = new SimpleDateFormat("yyMMddHHmmss'Z'");
        f.setTimeZone(TimeZone.getTimeZone("UTC"));
        StringBuilder index = new StringBuilder();
        for (TestPki.Issued i : good) {
            index.append("V\t").append(f.format(i.cert().getNotAfter())).append("\t\t")
                    .append(i.serial().toString(16).toUpperCase()).append("\tunknown\t/CN=x\n");
        }
        for (TestPki.Issued i : revoked) {
            index.append("R\t").append(f.format(i.cert().getNotAfter())).append("\t")
                    .append(f.format(new java.util.Date())).append("\t")
                    .append(i.serial().toString(16).toUpperCase()).append("\tunknown\t/CN=x\n");
        }
        Files.writeString(dir.resolve("index.txt"), index.toString());
        responder = new ProcessBuilder("openssl", "ocsp", "-index", dir.resolve("index.txt").toString(),
                "-port", String.valueOf(responderPort), "-rsigner", dir.resolve("ca.pem").toString(),
                "-rkey", dir.resolve("ca.key").toString(), "-CA", dir.resolve("ca.pem").toString(), "-nmin", "10", "-ignore_err")
                .redirectErrorStream(true).redirectOutput(dir.resolve("responder.log").toFile()).start();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            // The responder serves one connection at a time: the probe must be a whole request, or it would keep
            // the responder waiting for the rest while Turnpike's request queues behind it.
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", responderPort), 500);
                s.setSoTimeout(5_000);
                s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                s.getInputStream().readAllBytes();
                return;
            } catch (java.io.IOException e) {
                if (System.nanoTime() > deadline || !responder.isAlive()) {
                    throw new AssertionError("openssl ocsp did not start: "
                            + Files.readString(dir.resolve("responder.log")));
                }
                Thread.sleep(50);
            }
        }
    }

    private static String yaml(String engine) {
        return """
                listeners:
                  - address: "127.0.0.1:0"
                    tls: { engine: %s, cert: s.pem, key: s.key, reload_interval: 200ms }
                sites:
                  - routes:
                      - respond: ok
                """.formatted(engine);
    }

    /** Handshakes until the staple shows up (the first fetch runs in the background) or 20 s pass. */
    private OpensslCli.Result awaitStaple(int port, String name) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        OpensslCli.Result r;
        do {
            r = OpensslCli.client(port, name, dir.resolve("ca.pem"), List.of("-status"));
            if (r.output().contains("OCSP Response Status: successful")) {
                return r;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        return r;
    }

    @Test
    void aGoodResponseIsFetchedOffTheHandshakeAndStapled() throws Exception {
        TestPki.Issued cert = pki.serverWithOcsp(TestPki.KeyType.EC, url(), "ocsp.test");
        cert.write(dir, "s", TestPki.KeyFormat.PKCS8);
        startResponder(List.of(cert), List.of());
        try (Fixture f = Fixture.start(yaml("openssl"), Map.of(), dir)) {
            OpensslCli.Result r = awaitStaple(f.port(), "ocsp.test");
            assertThat(r.output()).contains("OCSP Response Status: successful").contains("Cert Status: good")
                    .contains("Next Update:").contains("HTTP/1.1 200");
            // Cached: the responder going away does not take the staple with it (it is good for 10 minutes).
            responder.destroyForcibly().waitFor();
            OpensslCli.Result later = OpensslCli.client(f.port(), "ocsp.test", dir.resolve("ca.pem"),
                    List.of("-status"));
            assertThat(later.output()).contains("Cert Status: good");
        }
    }

    @Test
    void aRevokedStatusIsStapledToo() throws Exception {
        TestPki.Issued cert = pki.serverWithOcsp(TestPki.KeyType.EC, url(), "revoked.test");
        cert.write(dir, "s", TestPki.KeyFormat.PKCS8);
        startResponder(List.of(), List.of(cert));
        try (Fixture f = Fixture.start(yaml("openssl"), Map.of(), dir)) {
            assertThat(awaitStaple(f.port(), "revoked.test").output()).contains("Cert Status: revoked");
        }
    }

    @Test
    void anUnreachableResponderNeverDelaysAHandshake() throws Exception {
        TestPki.Issued cert = pki.serverWithOcsp(TestPki.KeyType.EC, url(), "down.test"); // nothing listens there
        cert.write(dir, "s", TestPki.KeyFormat.PKCS8);
        try (Fixture f = Fixture.start(yaml("openssl"), Map.of(), dir)) {
            long start = System.nanoTime();
            OpensslCli.Result r = OpensslCli.client(f.port(), "down.test", dir.resolve("ca.pem"), List.of("-status"));
            assertThat(r.output()).contains("OCSP response: no response sent").contains("HTTP/1.1 200");
            assertThat((System.nanoTime() - start) / 1_000_000).as("ms").isLessThan(5_000);
        }
    }

    @Test
    void theJdkEngineDoesNotStaple() throws Exception {
        TestPki.Issued cert = pki.serverWithOcsp(TestPki.KeyType.EC, url(), "jdk.test");
        cert.write(dir, "s", TestPki.KeyFormat.PKCS8);
        startResponder(List.of(cert), List.of());
        try (Fixture f = Fixture.start(yaml("jdk"), Map.of(), dir)) {
            Thread.sleep(500);
            OpensslCli.Result r = OpensslCli.client(f.port(), "jdk.test", dir.resolve("ca.pem"), List.of("-status"));
            assertThat(r.output()).contains("OCSP response: no response sent").contains("HTTP/1.1 200");
        }
    }
}
