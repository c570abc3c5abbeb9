package dev.turnpike.tls;

import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import dev.turnpike.http.TlsInfo;
import dev.turnpike.server.Fixture;
import dev.turnpike.testing.RawClient;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * TLS listeners end to end: real handshakes from the JDK's client and the openssl command line against a running
 * Turnpike, with certificates made for each test. Most tests run with both engines.
 */
class TlsListenerIT {
    static TestPki pki;
    static TestPki otherPki;

    @TempDir
    Path dir;

    @BeforeAll
    static void makeCa() throws Exception {
        pki = new TestPki(TestPki.KeyType.EC);
        otherPki = new TestPki(TestPki.KeyType.EC, "Some Other CA");
    }

    /** Answers with what TLS established, as routes see it on the exchange. */
    static final class WhoAmI implements Handler {
        @Override
        public void handle(Exchange ex) {
            TlsInfo t = ex.tls();
            String body = t == null ? "plain" : "scheme=" + ex.scheme() + " sni=" + t.serverName() + " alpn="
                    + t.applicationProtocol() + " protocol=" + t.protocol() + " subject=" + t.clientSubject();
            ex.respond(HttpResponseStatus.OK, "text/plain", Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        }
    }

    private static Map<String, Supplier<Handler>> whoami() {
        return Map.of("whoami", WhoAmI::new);
    }

    private static String yaml(String engine, String tlsBody) {
        return """
                listeners:
                  - address: "127.0.0.1:0"
                    tls:
                      engine: %s
                %s
                sites:
                  - routes:
                      - name: whoami
                        respond: "replaced by the test handler"
                """.formatted(engine, tlsBody.indent(6).stripTrailing());
    }

    private Path ca() throws Exception {
        Path ca = dir.resolve("ca.pem");
        pki.writeCa(ca);
        return ca;
    }

    // ---- certificates and SNI ------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void sniPicksExactThenWildcardThenDefault(String engine) throws Exception {
        TestPki.Issued fallback = pki.server(TestPki.KeyType.EC, "default.test");
        TestPki.Issued api = pki.server(TestPki.KeyType.RSA, "api.example.com");
        TestPki.Issued wild = pki.server(TestPki.KeyType.EC, "*.example.com");
        fallback.write(dir, "default", TestPki.KeyFormat.PKCS8);
        api.write(dir, "api", TestPki.KeyFormat.PKCS8);
        wild.write(dir, "wild", TestPki.KeyFormat.PKCS8);
        String tls = """
                certificates:
                  - { cert: wild.pem, key: wild.key }
                  - { cert: api.pem, key: api.key }
                  - { cert: default.pem, key: default.key, default: true }
                """;
        try (Fixture f = Fixture.start(yaml(engine, tls), whoami(), dir)) {
            assertThat(served(f.port(), "api.example.com")).isEqualTo(api.serial());
            assertThat(served(f.port(), "www.example.com")).isEqualTo(wild.serial());
            assertThat(served(f.port(), "WWW.Example.COM")).as("names are case-insensitive").isEqualTo(wild.serial());
            assertThat(served(f.port(), "a.b.example.com")).as("a wildcard covers one label").isEqualTo(fallback.serial());
            assertThat(served(f.port(), "example.com")).as("nor the bare domain").isEqualTo(fallback.serial());
            assertThat(served(f.port(), "unknown.test")).isEqualTo(fallback.serial());
            assertThat(served(f.port(), null)).as("no SNI").isEqualTo(fallback.serial());

            RawClient.Response r = TlsClient.to(f.port()).trust(pki.ca).sni("www.example.com").get("www.example.com", "/");
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).startsWith("scheme=https sni=www.example.com alpn=null protocol=TLSv1.3");
        }
    }

    @Test
    void configuredHostsReplaceTheCertificateNames() throws Exception {
        TestPki.Issued a = pki.server(TestPki.KeyType.EC, "a.test");
        TestPki.Issued b = pki.server(TestPki.KeyType.EC, "b.test");
        a.write(dir, "a", TestPki.KeyFormat.PKCS8);
        b.write(dir, "b", TestPki.KeyFormat.PKCS8);
        String tls = """
                certificates:
                  - { cert: a.pem, key: a.key }
                  - { cert: b.pem, key: b.key, hosts: [other.test, "*.other.test"] }
                """;
        try (Fixture f = Fixture.start(yaml("auto", tls), whoami(), dir)) {
            assertThat(served(f.port(), "x.other.test")).isEqualTo(b.serial());
            assertThat(served(f.port(), "other.test")).isEqualTo(b.serial());
            assertThat(served(f.port(), "b.test")).as("b.test is not listed: default").isEqualTo(a.serial());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void rsaAndEcdsaKeysInPkcs8AndTraditionalPem(String engine) throws Exception {
        TestPki rsaCa = new TestPki(TestPki.KeyType.RSA);
        TestPki.Issued rsa8 = rsaCa.server(TestPki.KeyType.RSA, "rsa8.test");
        TestPki.Issued rsa1 = rsaCa.server(TestPki.KeyType.RSA, "rsa1.test");
        TestPki.Issued ec8 = rsaCa.server(TestPki.KeyType.EC, "ec8.test");
        TestPki.Issued ec1 = rsaCa.server(TestPki.KeyType.EC, "ec1.test");
        rsa8.write(dir, "rsa8", TestPki.KeyFormat.PKCS8);
        rsa1.write(dir, "rsa1", TestPki.KeyFormat.TRADITIONAL);
        ec8.write(dir, "ec8", TestPki.KeyFormat.PKCS8);
        ec1.write(dir, "ec1", TestPki.KeyFormat.TRADITIONAL);
        assertThat(java.nio.file.Files.readString(dir.resolve("rsa1.key"))).contains("BEGIN RSA PRIVATE KEY");
        assertThat(java.nio.file.Files.readString(dir.resolve("ec1.key"))).contains("BEGIN EC PRIVATE KEY");
        String tls = """
                certificates:
                  - { cert: rsa8.pem, key: rsa8.key }
                  - { cert: rsa1.pem, key: rsa1.key }
                  - { cert: ec8.pem, key: ec8.key }
                  - { cert: ec1.pem, key: ec1.key }
                """;
        try (Fixture f = Fixture.start(yaml(engine, tls), whoami(), dir)) {
            for (String v : List.of("TLSv1.3", "TLSv1.2")) {
                try (SSLSocket s = TlsClient.to(f.port()).trust(rsaCa.ca).sni("rsa1.test").protocols(v).handshake()) {
                    assertThat(TlsClient.peer(s).getPublicKey()).isInstanceOf(RSAPublicKey.class);
                    assertThat(TlsClient.peer(s).getSerialNumber()).isEqualTo(rsa1.serial());
                    assertThat(s.getSession().getProtocol()).isEqualTo(v);
                }
                try (SSLSocket s = TlsClient.to(f.port()).trust(rsaCa.ca).sni("ec1.test").protocols(v).handshake()) {
                    assertThat(TlsClient.peer(s).getPublicKey()).isInstanceOf(ECPublicKey.class);
                    assertThat(TlsClient.peer(s).getSerialNumber()).isEqualTo(ec1.serial());
                }
            }
            assertThat(served(f.port(), "rsa8.test", rsaCa)).isEqualTo(rsa8.serial());
            assertThat(served(f.port(), "ec8.test", rsaCa)).isEqualTo(ec8.serial());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void staticFilesGoOutThroughTlsWithoutSendfile(String engine) throws Exception {
        pki.server(TestPki.KeyType.EC, "files.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        java.nio.file.Files.createDirectories(dir.resolve("www"));
        byte[] big = new byte[300_000];
        new java.util.Random(7).nextBytes(big);
        java.nio.file.Files.write(dir.resolve("www/big.bin"), big);
        String config = """
                listeners:
                  - address: "127.0.0.1:0"
                    tls: { engine: %s, cert: s.pem, key: s.key }
                sites:
                  - routes:
                      - static: www
                """.formatted(engine);
        try (Fixture f = Fixture.start(config, Map.of(), dir)) {
            for (int i = 0; i < 2; i++) { // the second time from the open-file cache
                RawClient.Response r = TlsClient.to(f.port()).trust(pki.ca).sni("files.test").get("files.test",
                        "/big.bin");
                assertThat(r.status).isEqualTo(200);
                assertThat(r.body).isEqualTo(big);
            }
        }
    }

    // ---- protocols and ciphers ------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void tls10And11AreRefused(String engine) throws Exception {
        assumeThat(OpensslCli.available()).as("openssl command line tool").isTrue();
        pki.server(TestPki.KeyType.RSA, "old.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        try (Fixture f = Fixture.start(yaml(engine, "cert: s.pem\nkey: s.key\n"), whoami(), dir)) {
            // SECLEVEL=0 lets this client offer TLS 1.0 and 1.1 at all: the refusal must come from the server.
            for (String old : List.of("-tls1", "-tls1_1")) {
                OpensslCli.Result r = OpensslCli.client(f.port(), "old.test", ca(),
                        List.of(old, "-cipher", "DEFAULT@SECLEVEL=0"));
                assertThat(r.exit()).as(old + "\n" + r.output()).isNotZero();
                assertThat(r.output()).as(old).doesNotContain("HTTP/1.1 200");
                assertThat(r.output()).as(old).containsAnyOf("alert protocol version", "unsupported protocol",
                        "wrong version number", "handshake failure");
            }
            for (String ok : List.of("-tls1_2", "-tls1_3")) {
                OpensslCli.Result r = OpensslCli.client(f.port(), "old.test", ca(), List.of(ok));
                assertThat(r.output()).as(ok).contains("HTTP/1.1 200").contains("Verify return code: 0 (ok)");
            }
        }
    }

    /** testssl.sh rates client-initiated renegotiation HIGH (a denial-of-service lever); the JDK allows it. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void clientInitiatedRenegotiationIsRefused(String engine) throws Exception {
        assumeThat(OpensslCli.available()).as("openssl command line tool").isTrue();
        pki.server(TestPki.KeyType.EC, "reneg.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        try (Fixture f = Fixture.start(yaml(engine, "cert: s.pem\nkey: s.key\n"), whoami(), dir)) {
            OpensslCli.Result r = OpensslCli.renegotiate(f.port(), "reneg.test", ca());
            assertThat(r.output()).contains("Verify return code: 0 (ok)").contains("RENEGOTIATING");
            assertThat(r.output()).as(r.output()).doesNotContain("HTTP/1.1 200");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void tls12OffersOnlyForwardSecretAeadSuitesByDefault(String engine) throws Exception {
        TestPki rsaCa = new TestPki(TestPki.KeyType.RSA);
        rsaCa.server(TestPki.KeyType.RSA, "c.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        try (Fixture f = Fixture.start(yaml(engine, "cert: s.pem\nkey: s.key\n"), whoami(), dir)) {
            for (String weak : List.of("TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                    "TLS_RSA_WITH_AES_128_CBC_SHA")) {
                assertThatThrownBy(() -> TlsClient.to(f.port()).trust(rsaCa.ca).sni("c.test").protocols("TLSv1.2")
                        .ciphers(weak).handshake().close()).as(weak).isInstanceOf(IOException.class);
            }
            try (SSLSocket s = TlsClient.to(f.port()).trust(rsaCa.ca).sni("c.test").protocols("TLSv1.2")
                    .ciphers("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256").handshake()) {
                assertThat(s.getSession().getCipherSuite()).isEqualTo("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
            }
        }
    }

    @Test
    void protocolsCanBeLimitedToTls13() throws Exception {
        pki.server(TestPki.KeyType.EC, "p.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        try (Fixture f = Fixture.start(yaml("auto", "cert: s.pem\nkey: s.key\nprotocols: [TLSv1.3]\n"), whoami(),
                dir)) {
            assertThatThrownBy(() -> TlsClient.to(f.port()).trust(pki.ca).sni("p.test").protocols("TLSv1.2")
                    .handshake().close()).isInstanceOf(IOException.class);
            try (SSLSocket s = TlsClient.to(f.port()).trust(pki.ca).sni("p.test").handshake()) {
                assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.3");
            }
        }
    }

    // ---- ALPN --------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void alpnChoosesHttp11WhenHttp2IsOff(String engine) throws Exception {
        pki.server(TestPki.KeyType.EC, "alpn.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        String http2Off = yaml(engine, "cert: s.pem\nkey: s.key\n").replace("    tls:\n",
                "    http2: {enabled: false}\n    tls:\n");
        try (Fixture f = Fixture.start(http2Off, whoami(), dir)) {
            try (SSLSocket s = TlsClient.to(f.port()).trust(pki.ca).sni("alpn.test").alpn("h2", "http/1.1").handshake();
                 RawClient c = RawClient.over(s)) {
                assertThat(s.getApplicationProtocol()).isEqualTo("http/1.1");
                RawClient.Response r = c.send("GET / HTTP/1.1\r\nHost: alpn.test\r\n\r\n").read();
                assertThat(r.bodyText()).contains("alpn=http/1.1");
                // Keep-alive works over TLS: a second request on the same connection.
                assertThat(c.send("GET / HTTP/1.1\r\nHost: alpn.test\r\n\r\n").read().status).isEqualTo(200);
            }
            // A client that offers only h2 gets no protocol from ALPN, and HTTP/1.1 it is.
            try (SSLSocket s = TlsClient.to(f.port()).trust(pki.ca).sni("alpn.test").alpn("h2").handshake()) {
                assertThat(s.getApplicationProtocol()).isEmpty();
            }
            RawClient.Response r = TlsClient.to(f.port()).trust(pki.ca).sni("alpn.test").get("alpn.test", "/");
            assertThat(r.bodyText()).contains("alpn=null");
        }
    }

    /** By default a TLS listener offers h2, and an HTTP/2 client is served over it. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void anHttp2ClientIsServedOverTlsByDefault(String engine) throws Exception {
        pki.server(TestPki.KeyType.EC, "localhost").write(dir, "s", TestPki.KeyFormat.PKCS8);
        try (Fixture f = Fixture.start(yaml(engine, "cert: s.pem\nkey: s.key\n"), whoami(), dir)) {
            try (SSLSocket s = TlsClient.to(f.port()).trust(pki.ca).sni("localhost").alpn("h2", "http/1.1")
                    .handshake()) {
                assertThat(s.getApplicationProtocol()).isEqualTo("h2");
            }
            java.security.KeyStore ts = java.security.KeyStore.getInstance("PKCS12");
            ts.load(null, null);
            ts.setCertificateEntry("ca", pki.ca);
            javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                    javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ts);
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            try (java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder().sslContext(ctx)
                    .version(java.net.http.HttpClient.Version.HTTP_2).build()) {
                java.net.http.HttpResponse<String> r = client.send(java.net.http.HttpRequest.newBuilder(
                                java.net.URI.create("https://localhost:" + f.port() + "/")).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
                assertThat(r.version()).isEqualTo(java.net.http.HttpClient.Version.HTTP_2);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).contains("alpn=h2");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void h2IsOfferedAndHandedToTheHookWhenOneIsPlugged(String engine) throws Exception {
        pki.server(TestPki.KeyType.EC, "h2.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        var config = dev.turnpike.config.ConfigLoader.parse(yaml(engine, "cert: s.pem\nkey: s.key\n"), "t.yaml", dir);
        Http2Hook hook = (ch, services, listener) -> ch.writeAndFlush(Unpooled.copiedBuffer("h2 hook for "
                + TlsInfo.of(ch).serverName(), StandardCharsets.US_ASCII)).addListener(io.netty.channel.ChannelFutureListener.CLOSE);
        var server = dev.turnpike.server.TurnpikeServer.start(config, dev.turnpike.server.HandlerFactory.DEFAULT, hook);
        try {
            int port = server.boundAddresses().getFirst().getPort();
            try (SSLSocket s = TlsClient.to(port).trust(pki.ca).sni("h2.test").alpn("h2", "http/1.1").handshake()) {
                assertThat(s.getApplicationProtocol()).isEqualTo("h2");
                assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .isEqualTo("h2 hook for h2.test");
            }
            try (SSLSocket s = TlsClient.to(port).trust(pki.ca).sni("h2.test").alpn("http/1.1").handshake()) {
                assertThat(s.getApplicationProtocol()).isEqualTo("http/1.1");
            }
        } finally {
            server.close();
        }
    }

    // ---- client certificates ---------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void requiredClientCertificate(String engine) throws Exception {
        pki.server(TestPki.KeyType.EC, "secure.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        String tls = "cert: s.pem\nkey: s.key\nclient_auth: { mode: required, ca: ca.pem }\n";
        ca();
        TestPki.Issued alice = pki.client("CN=alice,O=Example Ltd");
        TestPki.Issued mallory = otherPki.client("CN=mallory");
        try (Fixture f = Fixture.start(yaml(engine, tls), whoami(), dir)) {
            RawClient.Response ok = TlsClient.to(f.port()).trust(pki.ca).sni("secure.test").clientCert(alice)
                    .get("secure.test", "/");
            assertThat(ok.status).isEqualTo(200);
            assertThat(ok.bodyText()).endsWith("subject=O=Example Ltd,CN=alice");
            for (TestPki.Issued who : java.util.Arrays.asList(null, mallory)) {
                assertThatThrownBy(() -> TlsClient.to(f.port()).trust(pki.ca).sni("secure.test").clientCert(who)
                        .get("secure.test", "/")).as(who == null ? "no certificate" : "another CA's certificate")
                        .isInstanceOf(IOException.class);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void optionalClientCertificate(String engine) throws Exception {
        pki.server(TestPki.KeyType.EC, "opt.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        String tls = "cert: s.pem\nkey: s.key\nclient_auth: { mode: optional, ca: ca.pem }\n";
        ca();
        try (Fixture f = Fixture.start(yaml(engine, tls), whoami(), dir)) {
            assertThat(TlsClient.to(f.port()).trust(pki.ca).sni("opt.test").get("opt.test", "/").bodyText())
                    .endsWith("subject=null");
            assertThat(TlsClient.to(f.port()).trust(pki.ca).sni("opt.test").clientCert(pki.client("CN=bob"))
                    .get("opt.test", "/").bodyText()).endsWith("subject=CN=bob");
            // A certificate that is sent must still verify.
            assertThatThrownBy(() -> TlsClient.to(f.port()).trust(pki.ca).sni("opt.test")
                    .clientCert(otherPki.client("CN=mallory")).get("opt.test", "/")).isInstanceOf(IOException.class);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void subjectHeaderReachesTheUpstreamAndClientCopiesDoNot(String engine) throws Exception {
        pki.server(TestPki.KeyType.EC, "app.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        ca();
        try (HeaderUpstream upstream = new HeaderUpstream()) {
            String config = """
                    listeners:
                      - address: "127.0.0.1:0"
                        tls:
                          engine: %s
                          cert: s.pem
                          key: s.key
                          client_auth: { mode: optional, ca: ca.pem, subject_header: X-Client-Cert-Subject }
                      - address: "127.0.0.1:0"
                        name: plain
                    sites:
                      - routes:
                          - proxy: %s
                    """.formatted(engine, upstream.url());
            try (Fixture f = Fixture.start(config, Map.of(), dir)) {
                String forged = "X-Client-Cert-Subject: CN=admin\r\nx-client-cert-subject: CN=root\r\n";
                try (SSLSocket s = TlsClient.to(f.port()).trust(pki.ca).sni("app.test")
                        .clientCert(pki.client("CN=Zoë,O=Ünïcode")).handshake(); RawClient c = RawClient.over(s)) {
                    assertThat(c.send("GET /a HTTP/1.1\r\nHost: app.test\r\n" + forged + "\r\n").read().status)
                            .isEqualTo(200);
                }
                assertThat(upstream.next().getAll("x-client-cert-subject"))
                        .containsExactly("O=\\C3\\9Cn\\C3\\AFcode,CN=Zo\\C3\\AB");
                // Without a certificate (optional), and on the plain listener, the client's copies are dropped.
                try (SSLSocket s = TlsClient.to(f.port()).trust(pki.ca).sni("app.test").handshake();
                     RawClient c = RawClient.over(s)) {
                    c.send("GET /b HTTP/1.1\r\nHost: app.test\r\n" + forged + "\r\n").read();
                }
                assertThat(upstream.next().getAll("x-client-cert-subject")).isEmpty();
                try (RawClient c = RawClient.connect(f.port(1))) {
                    c.send("GET /c HTTP/1.1\r\nHost: app.test\r\n" + forged + "\r\n").read();
                }
                var plain = upstream.next();
                assertThat(plain.getAll("x-client-cert-subject")).isEmpty();
                assertThat(plain.get("x-forwarded-proto")).isEqualTo("http");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void aHostWhoseCertificateWantsClientAuthIsNotReachedThroughAnotherName(String engine) throws Exception {
        pki.server(TestPki.KeyType.EC, "public.test").write(dir, "pub", TestPki.KeyFormat.PKCS8);
        pki.server(TestPki.KeyType.EC, "secure.test").write(dir, "sec", TestPki.KeyFormat.PKCS8);
        ca();
        String tls = """
                certificates:
                  - { cert: pub.pem, key: pub.key }
                  - { cert: sec.pem, key: sec.key, client_auth: { mode: required, ca: ca.pem } }
                """;
        try (Fixture f = Fixture.start(yaml(engine, tls), whoami(), dir)) {
            RawClient.Response r = TlsClient.to(f.port()).trust(pki.ca).sni("public.test").get("secure.test", "/");
            assertThat(r.status).isEqualTo(421);
            assertThat(TlsClient.to(f.port()).trust(pki.ca).sni("public.test").get("public.test", "/").status)
                    .isEqualTo(200);
            assertThat(TlsClient.to(f.port()).trust(pki.ca).sni("secure.test").clientCert(pki.client("CN=c"))
                    .get("secure.test", "/").status).isEqualTo(200);
        }
    }

    // ---- resumption -----------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0} {1}")
    @org.junit.jupiter.params.provider.CsvSource({"openssl, -tls1_3", "openssl, -tls1_2", "jdk, -tls1_3",
            "jdk, -tls1_2"})
    void secondHandshakeIsResumed(String engine, String version) throws Exception {
        assumeThat(OpensslCli.available()).as("openssl command line tool").isTrue();
        pki.server(TestPki.KeyType.EC, "resume.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        try (Fixture f = Fixture.start(yaml(engine, "cert: s.pem\nkey: s.key\n"), whoami(), dir)) {
            Path session = dir.resolve("session.pem");
            OpensslCli.Result first = OpensslCli.client(f.port(), "resume.test", ca(),
                    List.of(version, "-sess_out", session.toString()));
            assertThat(first.output()).contains("HTTP/1.1 200").contains("New, TLS");
            OpensslCli.Result second = OpensslCli.client(f.port(), "resume.test", ca(),
                    List.of(version, "-sess_in", session.toString()));
            assertThat(second.output()).contains("HTTP/1.1 200");
            assertThat(second.resumed()).as(second.output()).isTrue();
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @org.junit.jupiter.params.provider.CsvSource({"openssl, -tls1_3", "openssl, -tls1_2", "jdk, -tls1_3",
            "jdk, -tls1_2"})
    void aResumedSessionStillKnowsTheClientCertificate(String engine, String version) throws Exception {
        assumeThat(OpensslCli.available()).as("openssl command line tool").isTrue();
        pki.server(TestPki.KeyType.EC, "m.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        pki.client("CN=carol").write(dir, "carol", TestPki.KeyFormat.PKCS8);
        ca();
        String tls = "cert: s.pem\nkey: s.key\nclient_auth: { mode: required, ca: ca.pem }\n";
        try (Fixture f = Fixture.start(yaml(engine, tls), whoami(), dir)) {
            Path session = dir.resolve("session.pem");
            List<String> cert = List.of("-cert", dir.resolve("carol.pem").toString(), "-key",
                    dir.resolve("carol.key").toString(), version);
            List<String> out = new java.util.ArrayList<>(cert);
            out.addAll(List.of("-sess_out", session.toString()));
            OpensslCli.Result first = OpensslCli.client(f.port(), "m.test", ca(), out);
            assertThat(first.output()).contains("subject=CN=carol");
            List<String> in = new java.util.ArrayList<>(cert);
            in.addAll(List.of("-sess_in", session.toString()));
            OpensslCli.Result second = OpensslCli.client(f.port(), "m.test", ca(), in);
            assertThat(second.resumed()).as(second.output()).isTrue();
            assertThat(second.output()).contains("subject=CN=carol");
        }
    }

    @Test
    void ticketsOutliveOneKeyRotationButNotTwo() throws Exception {
        assumeThat(OpensslCli.available()).as("openssl command line tool").isTrue();
        pki.server(TestPki.KeyType.EC, "rotate.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        try (Fixture f = Fixture.start(yaml("openssl", "cert: s.pem\nkey: s.key\n"), whoami(), dir)) {
            TlsListener tls = f.server().tlsListener("127.0.0.1:0").orElseThrow();
            Path session = dir.resolve("session.pem");
            OpensslCli.client(f.port(), "rotate.test", ca(), List.of("-tls1_3", "-sess_out", session.toString()));
            tls.rotateTicketKeys();
            OpensslCli.Result afterOne = OpensslCli.client(f.port(), "rotate.test", ca(),
                    List.of("-tls1_3", "-sess_in", session.toString()));
            assertThat(afterOne.resumed()).as("the previous key still decrypts\n" + afterOne.output()).isTrue();
            tls.rotateTicketKeys();
            tls.rotateTicketKeys();
            OpensslCli.Result afterTwo = OpensslCli.client(f.port(), "rotate.test", ca(),
                    List.of("-tls1_3", "-sess_in", session.toString()));
            assertThat(afterTwo.output()).contains("HTTP/1.1 200");
            assertThat(afterTwo.resumed()).as("two rotations later the key is gone\n" + afterTwo.output()).isFalse();
        }
    }

    /** Per-certificate ticket keys (and session caches): otherwise this skips client authentication. */
    @ParameterizedTest(name = "{0} {1}")
    @org.junit.jupiter.params.provider.CsvSource({"openssl, -tls1_3", "openssl, -tls1_2", "jdk, -tls1_3",
            "jdk, -tls1_2"})
    void aSessionFromOneCertificateDoesNotResumeOnAnother(String engine, String version) throws Exception {
        assumeThat(OpensslCli.available()).as("openssl command line tool").isTrue();
        pki.server(TestPki.KeyType.EC, "public.test").write(dir, "pub", TestPki.KeyFormat.PKCS8);
        pki.server(TestPki.KeyType.EC, "secure.test").write(dir, "sec", TestPki.KeyFormat.PKCS8);
        Path ca = ca();
        String tls = """
                certificates:
                  - { cert: pub.pem, key: pub.key }
                  - { cert: sec.pem, key: sec.key, client_auth: { mode: required, ca: ca.pem } }
                """;
        try (Fixture f = Fixture.start(yaml(engine, tls), whoami(), dir)) {
            Path session = dir.resolve("session.pem");
            OpensslCli.Result first = OpensslCli.client(f.port(), "public.test", ca,
                    List.of(version, "-sess_out", session.toString()));
            assertThat(first.output()).contains("HTTP/1.1 200");
            OpensslCli.Result r = OpensslCli.client(f.port(), "secure.test", ca,
                    List.of(version, "-sess_in", session.toString()));
            assertThat(r.resumed()).as(r.output()).isFalse();
            assertThat(r.output()).doesNotContain("HTTP/1.1 200");
        }
    }

    // ---- reload --------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openssl", "jdk"})
    void certificatesReloadWhenTheirFilesChangeAndBrokenFilesAreIgnored(String engine) throws Exception {
        TestPki.Issued first = pki.server(TestPki.KeyType.EC, "reload.test");
        first.write(dir, "s", TestPki.KeyFormat.PKCS8);
        String tls = "cert: s.pem\nkey: s.key\nreload_interval: 100ms\n";
        try (Fixture f = Fixture.start(yaml(engine, tls), whoami(), dir)) {
            assertThat(served(f.port(), "reload.test")).isEqualTo(first.serial());

            TestPki.Issued second = pki.server(TestPki.KeyType.RSA, "reload.test");
            second.write(dir, "s", TestPki.KeyFormat.TRADITIONAL);
            awaitServed(f.port(), "reload.test", second.serial());

            // A half-written or wrong file: logged, and the previous certificate keeps serving.
            TestPki.atomicWrite(dir.resolve("s.pem"), "-----BEGIN CERTIFICATE-----\nnot base64!\n");
            TestPki.atomicWrite(dir.resolve("s.key"), TestPki.keyPem(first.key(), TestPki.KeyFormat.PKCS8));
            Thread.sleep(600);
            assertThat(served(f.port(), "reload.test")).isEqualTo(second.serial());
            java.nio.file.Files.delete(dir.resolve("s.pem"));
            Thread.sleep(300);
            assertThat(served(f.port(), "reload.test")).isEqualTo(second.serial());

            // Fixed again: picked up.
            TestPki.Issued third = pki.server(TestPki.KeyType.EC, "reload.test");
            third.write(dir, "s", TestPki.KeyFormat.PKCS8);
            awaitServed(f.port(), "reload.test", third.serial());
            assertThat(TlsClient.to(f.port()).trust(pki.ca).sni("reload.test").get("reload.test", "/").status)
                    .isEqualTo(200);
        }
    }

    // ---- HTTPS conveniences ---------------------------------------------------------------------------------------

    @Test
    void plainListenerRedirectsToTheHttpsListenerAndHstsIsSentOverTlsOnly() throws Exception {
        pki.server(TestPki.KeyType.EC, "shop.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        String config = """
                listeners:
                  - address: "127.0.0.1:0"
                    name: http
                    redirect_to_https: true
                  - address: "127.0.0.1:0"
                    name: https
                    tls:
                      cert: s.pem
                      key: s.key
                      hsts: { max_age: 365d, include_subdomains: true }
                  - address: "127.0.0.1:0"
                    name: plain
                sites:
                  - routes:
                      - respond: "ok"
                """;
        try (Fixture f = Fixture.start(config, Map.of(), dir)) {
            int https = f.port(1);
            try (RawClient c = RawClient.connect(f.port(0))) {
                RawClient.Response r = c.send("GET /cart?id=7 HTTP/1.1\r\nHost: Shop.test:8080\r\n\r\n").read();
                assertThat(r.status).isEqualTo(301);
                assertThat(r.header("Location")).isEqualTo("https://shop.test:" + https + "/cart?id=7");
                assertThat(r.header("Strict-Transport-Security")).isNull();
                r = c.send("POST /pay HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 2\r\n\r\nhi").read();
                assertThat(r.status).as("other methods keep method and body").isEqualTo(308);
                assertThat(r.header("Location")).isEqualTo("https://shop.test:" + https + "/pay");
            }
            try (RawClient c = RawClient.connect(f.port(0))) {
                assertThat(c.send("GET / HTTP/1.0\r\n\r\n").read().status).as("no Host, nowhere to go")
                        .isEqualTo(400);
            }
            RawClient.Response secure = TlsClient.to(https).trust(pki.ca).sni("shop.test").get("shop.test", "/");
            assertThat(secure.bodyText()).isEqualTo("ok");
            assertThat(secure.header("Strict-Transport-Security")).isEqualTo("max-age=31536000; includeSubDomains");
            try (SSLSocket s = TlsClient.to(https).trust(pki.ca).sni("shop.test").handshake();
                 RawClient c = RawClient.over(s)) {
                RawClient.Response refused = c.send("TRACE / HTTP/1.1\r\nHost: shop.test\r\n\r\n").read();
                assertThat(refused.status).isEqualTo(405);
                assertThat(refused.header("Strict-Transport-Security")).as("errors too").isNotNull();
            }
            try (RawClient c = RawClient.connect(f.port(2))) {
                RawClient.Response plain = c.send("GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n").read();
                assertThat(plain.bodyText()).isEqualTo("ok");
                assertThat(plain.header("Strict-Transport-Security")).isNull();
            }
        }
    }

    @Test
    void redirectToAnExplicitPortLeavesOut443() throws Exception {
        String config = """
                listeners:
                  - address: "127.0.0.1:0"
                    redirect_to_https: 443
                  - address: "127.0.0.1:0"
                    name: other
                    redirect_to_https: 8443
                sites:
                  - routes:
                      - respond: "ok"
                """;
        try (Fixture f = Fixture.start(config, Map.of(), dir)) {
            try (RawClient c = RawClient.connect(f.port(0))) {
                assertThat(c.send("GET /a HTTP/1.1\r\nHost: x.test\r\n\r\n").read().header("Location"))
                        .isEqualTo("https://x.test/a");
            }
            try (RawClient c = RawClient.connect(f.port(1))) {
                assertThat(c.send("GET /a HTTP/1.1\r\nHost: [::1]:80\r\n\r\n").read().header("Location"))
                        .isEqualTo("https://[::1]:8443/a");
            }
        }
    }

    @Test
    void plainHttpOnATlsPortGetsAReadableAnswer() throws Exception {
        pki.server(TestPki.KeyType.EC, "p.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        try (Fixture f = Fixture.start(yaml("auto", "cert: s.pem\nkey: s.key\n"), whoami(), dir);
             RawClient c = RawClient.connect(f.port())) {
            RawClient.Response r = c.send("GET / HTTP/1.1\r\nHost: p.test\r\n\r\n").read();
            assertThat(r.status).isEqualTo(400);
            assertThat(r.bodyText()).contains("HTTPS");
        }
    }

    @Test
    void aSilentClientIsDisconnectedAfterTheHandshakeTimeout() throws Exception {
        pki.server(TestPki.KeyType.EC, "t.test").write(dir, "s", TestPki.KeyFormat.PKCS8);
        try (Fixture f = Fixture.start(yaml("auto", "cert: s.pem\nkey: s.key\nhandshake_timeout: 300ms\n"),
                whoami(), dir); RawClient c = RawClient.connect(f.port())) {
            assertThat(c.isClosedByPeer(5_000)).isTrue();
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private static java.math.BigInteger served(int port, String sni) throws Exception {
        return served(port, sni, pki);
    }

    private static java.math.BigInteger served(int port, String sni, TestPki trust) throws Exception {
        try (SSLSocket s = TlsClient.to(port).trust(trust.ca).sni(sni).handshake()) {
            return TlsClient.peer(s).getSerialNumber();
        }
    }

    private static void awaitServed(int port, String sni, java.math.BigInteger serial) throws Exception {
        long deadline = System.nanoTime() + 15_000_000_000L;
        java.math.BigInteger last = null;
        while (System.nanoTime() < deadline) {
            try {
                last = served(port, sni);
                if (last.equals(serial)) {
                    return;
                }
            } catch (SSLException e) {
                // the new certificate is not trusted yet or a handshake raced the swap: try again
            }
            Thread.sleep(50);
        }
        assertThat(last).as("certificate served after the files changed").isEqualTo(serial);
    }
}
