package dev.turnpike.proxy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.TestServer;
import dev.turnpike.tls.TestPki;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** TLS to cluster endpoints: https:// endpoints, CA and server name checks, client certificates, and h2 with ALPN. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UpstreamTlsTest {
    @TempDir
    Path dir;

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private TestPki pki;
    private TestPki.Issued serverCert;
    private Path ca;

    @BeforeEach
    void setUp() throws Exception {
        pki = new TestPki(TestPki.KeyType.EC);
        serverCert = pki.server(TestPki.KeyType.EC, "upstream.test");
        serverCert.write(dir, "upstream", TestPki.KeyFormat.PKCS8);
        ca = dir.resolve("ca.pem");
        pki.writeCa(ca);
    }

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closeables);
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    /** An HTTPS/1.1 server (the JDK's) answering "secure" and the client certificate's subject, if any. */
    private int httpsServer(boolean requireClientCert) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(TestPki.keyStore(serverCert), "changeit".toCharArray());
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", pki.ca);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        server.setHttpsConfigurator(new HttpsConfigurator(ssl) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = ssl.getDefaultSSLParameters();
                p.setNeedClientAuth(requireClientCert);
                params.setSSLParameters(p);
            }
        });
        server.createContext("/", ex -> {
            String subject = "none";
            try {
                subject = ((HttpsExchange) ex).getSSLSession().getPeerPrincipal().getName();
            } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                // no client certificate
            }
            byte[] body = ("secure " + subject).getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("X-Host", ex.getRequestHeaders().getFirst("Host"));
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
        closeables.add(() -> server.stop(0));
        return server.getAddress().getPort();
    }

    private TestServer turnpike(String cluster) throws Exception {
        String yaml = "listen: \"127.0.0.1:0\"\n"
                + "server: {event_loops: 1}\n"
                + "access_log: off\n"
                + "clusters:\n"
                + "  secure:\n" + cluster
                + "sites:\n"
                + "  - routes:\n"
                + "      - path: /*\n"
                + "        proxy: {cluster: secure}\n";
        TestServer s = TestServer.start(yaml, dir);
        closeables.add(s);
        return s;
    }

    private RawClient.Response get(TestServer s, String path) throws Exception {
        try (RawClient c = s.connect()) {
            return c.send("GET " + path + " HTTP/1.1\r\nHost: example.test\r\n\r\n").read();
        }
    }

    @Test
    void anHttpsEndpointIsReachedOverVerifiedTls() throws Exception {
        int port = httpsServer(false);
        TestServer s = turnpike("    endpoints: [\"https://127.0.0.1:" + port + "\"]\n"
                + "    tls: {ca: ca.pem, server_name: upstream.test}\n");
        RawClient.Response r = get(s, "/x");
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("secure none");
        // and the connection is kept for the next request
        assertThat(get(s, "/y").status).isEqualTo(200);
    }

    @Test
    void aCertificateNotValidForTheNameIsRefused() throws Exception {
        int port = httpsServer(false);
        // No server_name: the certificate (for upstream.test) is checked against 127.0.0.1, and does not match.
        TestServer s = turnpike("    endpoints: [\"https://127.0.0.1:" + port + "\"]\n"
                + "    tls: {ca: ca.pem}\n"
                + "    retries: {attempts: 0}\n");
        RawClient.Response r = get(s, "/x");
        assertThat(r.status).isEqualTo(502);
        assertThat(r.bodyText()).contains("TLS handshake with the upstream failed");
    }

    @Test
    void aCertificateFromAnUnknownCaIsRefusedUnlessVerifyIsOff() throws Exception {
        int port = httpsServer(false);
        TestServer trusting = turnpike("    endpoints: [\"127.0.0.1:" + port + "\"]\n"
                + "    tls: {server_name: upstream.test}\n"
                + "    retries: {attempts: 0}\n");
        assertThat(get(trusting, "/x").status).as("the JVM's CAs do not know the test CA").isEqualTo(502);

        TestServer insecure = turnpike("    endpoints: [\"127.0.0.1:" + port + "\"]\n"
                + "    tls: {verify: false}\n");
        assertThat(get(insecure, "/x").bodyText()).isEqualTo("secure none");
    }

    @Test
    void aClientCertificateIsPresentedWhenTheEndpointAsksForOne() throws Exception {
        int port = httpsServer(true);
        TestServer without = turnpike("    endpoints: [\"https://127.0.0.1:" + port + "\"]\n"
                + "    tls: {ca: ca.pem, server_name: upstream.test}\n"
                + "    retries: {attempts: 0}\n");
        assertThat(get(without, "/x").status).isEqualTo(502);

        pki.client("CN=turnpike,O=Edge").write(dir, "client", TestPki.KeyFormat.PKCS8);
        TestServer with = turnpike("    endpoints: [\"https://127.0.0.1:" + port + "\"]\n"
                + "    tls: {ca: ca.pem, server_name: upstream.test, client_certificate: client.pem,"
                + " client_key: client.key}\n");
        RawClient.Response r = get(with, "/x");
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).startsWith("secure ").contains("CN=turnpike").contains("O=Edge");
    }

    @Test
    void h2OverTlsNeedsAlpnToAgree() throws Exception {
        int port = httpsServer(false); // speaks HTTP/1.1 only
        TestServer s = turnpike("    endpoints: [\"127.0.0.1:" + port + "\"]\n"
                + "    protocol: h2\n"
                + "    tls: {ca: ca.pem, server_name: upstream.test}\n"
                + "    retries: {attempts: 0}\n");
        RawClient.Response r = get(s, "/x");
        assertThat(r.status).isEqualTo(502);
    }

    /** A grpc-java server over TLS (ALPN h2) with the echo and health services. */
    private int grpcTlsServer(HealthStatusManager health) throws Exception {
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .sslContext(GrpcSslContexts.forServer(dir.resolve("upstream.pem").toFile(),
                        dir.resolve("upstream.key").toFile()).build())
                .addService(new EchoGrpcService().definition())
                .addService(health.getHealthService())
                .build()
                .start();
        closeables.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        return server.getPort();
    }

    @Test
    void grpcOverH2WithTlsAndAGrpcHealthCheck() throws Exception {
        HealthStatusManager health = new HealthStatusManager();
        int port = grpcTlsServer(health);
        String yaml = "listen: \"127.0.0.1:0\"\nserver: {event_loops: 1}\naccess_log: off\nclusters:\n"
                + "  grpc:\n"
                + "    endpoints: [\"127.0.0.1:" + port + "\"]\n"
                + "    protocol: h2\n"
                + "    tls: {ca: ca.pem, server_name: upstream.test}\n"
                + "    health: {active: {type: grpc, interval: 200ms, timeout: 150ms, rise: 1, fall: 1}}\n"
                + "sites:\n  - routes:\n      - path: /*\n        proxy: {cluster: grpc, grpc_web: true}\n";
        TestServer s = TestServer.start(yaml, dir);
        closeables.add(s);
        ByteArrayOutputStream req = new ByteArrayOutputStream();
        byte[] body = EchoGrpcService.frame("over tls");
        req.writeBytes(("POST /test.Echo/Unary HTTP/1.1\r\nHost: example.test\r\nContent-Type:"
                + " application/grpc-web+proto\r\nContent-Length: " + body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        req.writeBytes(body);
        RawClient.Response r;
        try (RawClient c = s.connect()) {
            r = c.send(req.toByteArray()).read();
        }
        assertThat(r.status).isEqualTo(200);
        assertThat(EchoGrpcService.frames(r.body)).first().isEqualTo("0|echo: over tls");

        var cluster = s.server().snapshot().clusters().require("grpc");
        var endpoint = cluster.endpoints().getFirst();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        health.setStatus("", ServingStatus.NOT_SERVING);
        while (endpoint.health() != dev.turnpike.upstream.lb.Health.DOWN && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(endpoint.health()).as("the gRPC check runs over TLS and sees NOT_SERVING")
                .isEqualTo(dev.turnpike.upstream.lb.Health.DOWN);
    }
}
