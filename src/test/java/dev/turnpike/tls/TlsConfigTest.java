package dev.turnpike.tls;

import dev.turnpike.config.ConfigException;
import dev.turnpike.config.ConfigLoader;
import dev.turnpike.config.ListenerConfig;
import dev.turnpike.config.TlsConfig;
import dev.turnpike.config.TurnpikeConfig;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The {@code tls} block and HTTPS options: what loads, and every mistake reported at its file:line:col. */
class TlsConfigTest {
    static TestPki pki;
    static TestPki.Issued a;
    static TestPki.Issued b;

    @TempDir
    Path dir;

    @BeforeAll
    static void certificates() throws Exception {
        pki = new TestPki(TestPki.KeyType.EC);
        a = pki.server(TestPki.KeyType.EC, "a.test", "www.a.test");
        b = pki.server(TestPki.KeyType.RSA, "b.test");
    }

    @BeforeEach
    void files() throws Exception {
        a.write(dir, "a", TestPki.KeyFormat.PKCS8);
        b.write(dir, "b", TestPki.KeyFormat.TRADITIONAL);
        pki.writeCa(dir.resolve("ca.pem"));
    }

    private TurnpikeConfig parse(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, "t.yaml", dir, Map.of());
    }

    private List<String> problems(String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
        assertThat(e).as("expected a ConfigException").isNotNull();
        String real;
        try {
            real = dir.toRealPath().toString();
        } catch (IOException x) {
            throw new AssertionError(x);
        }
        return e.problems().stream().map(p -> p.toString().replace(real, "<dir>").replace(dir.toString(), "<dir>"))
                .toList();
    }

    private static String listener(String tls) {
        return """
                listeners:
                  - address: "127.0.0.1:8443"
                    tls:
                %s
                sites:
                  - routes:
                      - respond: ok
                """.formatted(tls.indent(6).stripTrailing());
    }

    @Test
    void aFullTlsBlockLoadsWithItsDefaults() throws Exception {
        TurnpikeConfig c = parse("""
                listeners:
                  - address: "127.0.0.1:8080"
                    redirect_to_https: true
                  - address: "127.0.0.1:8443"
                    name: https
                    tls:
                      certificates:
                        - cert: a.pem
                          key: a.key
                        - cert: b.pem
                          key: b.key
                          hosts: [B.test, "*.b.test"]
                          default: true
                          client_auth: { mode: optional, ca: ca.pem, subject_header: X-Client-Cert-Subject }
                      hsts: { max_age: 180d, include_subdomains: true }
                sites:
                  - routes:
                      - respond: ok
                """);
        ListenerConfig http = c.listeners().get(0);
        assertThat(http.redirectToHttps()).contains(new ListenerConfig.HttpsRedirect(0, "https"));
        assertThat(http.tls()).isEmpty();
        TlsConfig t = c.listeners().get(1).tls().orElseThrow();
        assertThat(c.listeners().get(1).sendfile()).as("never with TLS").isFalse();
        assertThat(t.certificates()).hasSize(2);
        assertThat(t.defaultCertificate()).isEqualTo(1);
        assertThat(t.certificates().get(0).cert()).isEqualTo(dir.resolve("a.pem").toAbsolutePath().normalize());
        assertThat(t.certificates().get(0).hosts()).as("from the certificate at runtime").isEmpty();
        assertThat(t.certificates().get(1).hosts()).containsExactly("b.test", "*.b.test");
        assertThat(t.certificates().get(1).clientAuth()).hasValueSatisfying(ca -> {
            assertThat(ca.required()).isFalse();
            assertThat(ca.subjectHeader()).contains("X-Client-Cert-Subject");
        });
        assertThat(t.engine()).isEqualTo(TlsConfig.Engine.AUTO);
        assertThat(t.protocols()).containsExactly("TLSv1.2", "TLSv1.3");
        assertThat(t.ciphers()).isEqualTo(CipherSuites.DEFAULT_TLS12);
        assertThat(t.ticketKeyRotation()).isEqualTo(Duration.ofHours(12));
        assertThat(t.ocspStapling()).isTrue();
        assertThat(t.handshakeTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(t.reloadInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(t.hsts().orElseThrow().headerValue()).isEqualTo("max-age=15552000; includeSubDomains");
    }

    @Test
    void shorthandAndHstsTrue() throws Exception {
        TlsConfig t = parse(listener("cert: a.pem\nkey: a.key\nhsts: true\nengine: JDK\nprotocols: TLSv1.3\n"))
                .listeners().getFirst().tls().orElseThrow();
        assertThat(t.certificates()).singleElement().satisfies(c -> assertThat(c.key().getFileName().toString())
                .isEqualTo("a.key"));
        assertThat(t.engine()).isEqualTo(TlsConfig.Engine.JDK);
        assertThat(t.protocols()).containsExactly("TLSv1.3");
        assertThat(t.hsts().orElseThrow().headerValue()).isEqualTo("max-age=31536000");
    }

    @Test
    void missingFilesAndBadPem() throws Exception {
        Files.writeString(dir.resolve("garbage.pem"), "-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n");
        Files.write(dir.resolve("der.crt"), a.cert().getEncoded());
        Files.writeString(dir.resolve("empty.key"), "");
        assertThat(problems(listener("""
                certificates:
                  - { cert: missing.pem, key: a.key }
                  - { cert: garbage.pem, key: a.key }
                  - { cert: der.crt, key: a.key }
                  - { cert: a.pem, key: empty.key }
                  - { cert: a.pem, key: nope.key }
                """))).containsExactly(
                "t.yaml:5:19: listeners[0].tls.certificates[0].cert: no such file: <dir>/missing.pem",
                "t.yaml:6:19: listeners[0].tls.certificates[1].cert: bad PEM in <dir>/garbage.pem:"
                        + " invalid characters encountered in base64 data",
                "t.yaml:7:19: listeners[0].tls.certificates[2].cert: <dir>/der.crt is binary DER, not PEM; convert it,"
                        + " e.g. openssl x509 -inform der -in der.crt -out der.crt.pem",
                "t.yaml:8:31: listeners[0].tls.certificates[3].key: <dir>/empty.key is empty; expected PEM text",
                "t.yaml:9:31: listeners[0].tls.certificates[4].key: no such file: <dir>/nope.key");
    }

    @Test
    void keysThatDoNotBelong() throws Exception {
        TestPki.atomicWrite(dir.resolve("reversed.pem"), TestPki.pem(pki.ca, a.cert()));
        assertThat(problems(listener("""
                certificates:
                  - { cert: a.pem, key: b.key }
                  - { cert: a.key, key: a.pem }
                  - { cert: reversed.pem, key: a.key }
                """))).containsExactly(
                "t.yaml:5:31: listeners[0].tls.certificates[0].key: the key does not match the certificate"
                        + " (CN=a.test); was it made for another certificate?",
                "t.yaml:6:19: listeners[0].tls.certificates[1].cert: <dir>/a.key holds a private key, not"
                        + " certificates; are 'cert' and 'key' swapped?",
                "t.yaml:7:19: listeners[0].tls.certificates[2].cert: the key belongs to certificate 2 of the chain"
                        + " (CN=a.test); put the server certificate first, then its intermediates");
    }

    @Test
    void encryptedKeys() throws Exception {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            w.writeObject(new JcaPKCS8Generator(a.key(), new JceOpenSSLPKCS8EncryptorBuilder(
                    org.bouncycastle.openssl.PKCS8Generator.AES_256_CBC).setProvider(new org.bouncycastle.jce.provider
                    .BouncyCastleProvider()).setPassword("s3cret".toCharArray()).build()));
        }
        Files.writeString(dir.resolve("enc.key"), sw.toString());
        assertThat(sw.toString()).contains("BEGIN ENCRYPTED PRIVATE KEY");
        assertThat(parse(listener("cert: a.pem\nkey: enc.key\nkey_password: s3cret\n")).listeners().getFirst().tls())
                .isPresent();
        assertThat(problems(listener("cert: a.pem\nkey: enc.key\n"))).containsExactly(
                "t.yaml:5:12: listeners[0].tls.key: the key in <dir>/enc.key is encrypted; set key_password");
        assertThat(problems(listener("cert: a.pem\nkey: enc.key\nkey_password: wrong\n"))).singleElement()
                .asString().startsWith("t.yaml:5:12: listeners[0].tls.key: cannot decrypt the key in <dir>/enc.key");
    }

    @Test
    void protocolsCiphersAndSettings() {
        assertThat(problems(listener("""
                cert: a.pem
                key: a.key
                protocols: [TLSv1.1, TLSv1.2, SSLv4]
                ciphers: [ECDHE-RSA-AES128-GCM-SHA256, TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265,
                          TLS_RSA_WITH_RC4_128_SHA]
                engine: boringssl
                hsts: { max_age: 30d, preload: true }
                handshake_timeout: 0s
                certificate: x
                """))).containsExactly(
                "t.yaml:6:19: listeners[0].tls.protocols[0]: TLSv1.1 is insecure and not supported; use TLSv1.2 and"
                        + " TLSv1.3",
                "t.yaml:6:37: listeners[0].tls.protocols[2]: unknown protocol 'SSLv4'; expected TLSv1.2 or TLSv1.3",
                "t.yaml:7:17: listeners[0].tls.ciphers[0]: write cipher suites by their IANA names, e.g."
                        + " TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 rather than ECDHE-RSA-AES128-GCM-SHA256; got"
                        + " 'ECDHE-RSA-AES128-GCM-SHA256'",
                "t.yaml:7:46: listeners[0].tls.ciphers[1]: TLS_AES_128_GCM_SHA256 is a TLS 1.3 suite; TLS 1.3 suites"
                        + " are always enabled and 'ciphers' lists TLS 1.2 suites only",
                "t.yaml:7:70: listeners[0].tls.ciphers[2]: unsupported cipher suite"
                        + " 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265'; did you mean"
                        + " 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'? accepted: "
                        + String.join(", ", CipherSuites.ACCEPTED_TLS12),
                "t.yaml:8:17: listeners[0].tls.ciphers[3]: unsupported cipher suite 'TLS_RSA_WITH_RC4_128_SHA';"
                        + " accepted: "
                        + String.join(", ", CipherSuites.ACCEPTED_TLS12),
                "t.yaml:9:15: listeners[0].tls.engine: unknown value 'boringssl'; expected one of: auto, openssl, jdk",
                "t.yaml:10:38: listeners[0].tls.hsts.preload: preload lists require include_subdomains: true and a"
                        + " max_age of at least 365d",
                "t.yaml:11:26: listeners[0].tls.handshake_timeout: must be longer than 0, got 0s",
                "t.yaml:12:7: listeners[0].tls.certificate: unknown key; did you mean 'certificates'? expected one"
                        + " of: " + String.join(", ", List.of("cert", "key", "key_password", "client_auth",
                        "certificates", "engine", "protocols", "ciphers", "ticket_key_rotation", "ocsp_stapling",
                        "handshake_timeout", "reload_interval", "hsts")));
    }

    @Test
    void certificateNamesAndDefaults() {
        assertThat(problems(listener("""
                certificates:
                  - { cert: a.pem, key: a.key, default: true }
                  - { cert: a.pem, key: a.key, default: true }
                  - { cert: b.pem, key: b.key, hosts: [b.test, B.TEST, "*.*.b.test", 10.0.0.1, "*"] }
                """))).containsExactly(
                "t.yaml:6:19: listeners[0].tls.certificates[1].cert: 'a.test' is already served by"
                        + " listeners[0].tls.certificates[0] (the names come from the certificate; list this"
                        + " certificate's names with 'hosts')",
                "t.yaml:6:19: listeners[0].tls.certificates[1].cert: 'www.a.test' is already served by"
                        + " listeners[0].tls.certificates[0] (the names come from the certificate; list this"
                        + " certificate's names with 'hosts')",
                "t.yaml:6:47: listeners[0].tls.certificates[1].default: only one certificate can be the default;"
                        + " listeners[0].tls.certificates[0] already is",
                "t.yaml:7:54: listeners[0].tls.certificates[2].hosts[1]: 'b.test' is listed twice",
                "t.yaml:7:62: listeners[0].tls.certificates[2].hosts[2]: a wildcard must be the whole first label,"
                        + " as in *.example.com; got '*.*.b.test'",
                "t.yaml:7:76: listeners[0].tls.certificates[2].hosts[3]: clients send host names, not addresses, to"
                        + " choose a certificate (SNI); a connection to an address gets the default certificate",
                "t.yaml:7:86: listeners[0].tls.certificates[2].hosts[4]: '*' is not a certificate name; mark the"
                        + " certificate for unmatched names with default: true");
    }

    @Test
    void clientAuthNeedsAModeAndACaBundle() {
        assertThat(problems(listener("""
                cert: a.pem
                key: a.key
                client_auth: { mode: sometimes, ca: a.key, subject_header: "X Subject" }
                """))).containsExactly(
                "t.yaml:6:28: listeners[0].tls.client_auth.mode: unknown value 'sometimes'; expected one of:"
                        + " required, optional",
                "t.yaml:6:43: listeners[0].tls.client_auth.ca: <dir>/a.key holds a private key, not certificates;"
                        + " are 'cert' and 'key' swapped?",
                "t.yaml:6:66: listeners[0].tls.client_auth.subject_header: expected a header name (letters, digits"
                        + " and !#$%&'*+-.^_`|~), got 'X Subject'");
        assertThat(problems(listener("cert: a.pem\nkey: a.key\nclient_auth: { mode: required }\n"))).containsExactly(
                "t.yaml:6:20: listeners[0].tls.client_auth.ca: missing; expected the PEM bundle of the CAs that sign"
                        + " client certificates, e.g. ca: certs/clients-ca.pem");
    }

    @Test
    void httpsOptionsInTheWrongPlace() {
        assertThat(problems("""
                listeners:
                  - address: "127.0.0.1:8080"
                    redirect_to_https: true
                  - address: "127.0.0.1:8081"
                    redirect_to_https: 70000
                  - address: "127.0.0.1:8443"
                    sendfile: true
                    redirect_to_https: 443
                    tls: { cert: a.pem, key: a.key }
                    hsts: true
                sites:
                  - routes:
                      - respond: ok
                """)).containsExactly(
                "t.yaml:5:24: listeners[1].redirect_to_https: must be between 1 and 65535, got 70000",
                "t.yaml:7:15: listeners[2].sendfile: a tls listener never uses sendfile (TLS encrypts in user space);"
                        + " remove 'sendfile'",
                "t.yaml:8:5: listeners[2].redirect_to_https: this listener already serves HTTPS; redirect_to_https"
                        + " belongs on a plain-HTTP listener",
                "t.yaml:10:5: listeners[2].hsts: unknown key here; 'hsts' belongs under 'tls'; expected one of:"
                        + " address, name, limits, timeouts, sendfile, tls, redirect_to_https, http2");
        assertThat(problems("""
                listeners:
                  - address: "127.0.0.1:8080"
                    redirect_to_https: true
                sites:
                  - routes:
                      - respond: ok
                """)).containsExactly("t.yaml:3:24: listeners[0].redirect_to_https: true sends clients to this"
                + " configuration's HTTPS listener, but no listener has 'tls'; add one, or give the HTTPS port, e.g."
                + " redirect_to_https: 443");
    }
}
