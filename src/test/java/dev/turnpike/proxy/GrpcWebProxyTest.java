package dev.turnpike.proxy;

import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.TestServer;
import io.grpc.Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * gRPC-Web from browsers (here: hand-built HTTP/1.1 requests) to a real grpc-java server over h2c, and the gRPC
 * statuses Turnpike answers with itself when a call fails before the upstream answers.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class GrpcWebProxyTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final EchoGrpcService service = new EchoGrpcService();

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closeables);
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private int grpcServer() throws Exception {
        Server server = service.start(null);
        closeables.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        return server.getPort();
    }

    /** Turnpike with cluster {@code grpc} (h2c) to {@code port} on every path; {@code proxyExtra} adds proxy keys. */
    private TestServer turnpike(int port, String proxyExtra, String clusterExtra) throws Exception {
        String yaml = "listen: \"127.0.0.1:0\"\n"
                + "server: {event_loops: 1}\n"
                + "access_log: off\n"
                + "clusters:\n"
                + "  grpc:\n"
                + "    endpoints: [\"127.0.0.1:" + port + "\"]\n"
                + "    protocol: h2c\n"
                + clusterExtra
                + "sites:\n"
                + "  - routes:\n"
                + "      - path: /*\n"
                + "        proxy: {cluster: grpc" + proxyExtra + "}\n";
        TestServer s = TestServer.start(yaml);
        closeables.add(s);
        return s;
    }

    private RawClient client(TestServer s) throws Exception {
        RawClient c = s.connect();
        closeables.add(c);
        return c;
    }

    private static byte[] post(String path, String contentType, String extraHeaders, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(("POST " + path + " HTTP/1.1\r\nHost: example.test\r\nContent-Type: " + contentType
                + "\r\nX-Grpc-Web: 1\r\n" + extraHeaders + "Content-Length: " + body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(body);
        return out.toByteArray();
    }

    private static String path(String method) {
        return "/" + EchoGrpcService.SERVICE + "/" + method;
    }

    // ---- gRPC-Web ------------------------------------------------------------------------------------------

    @Test
    void aBinaryGrpcWebCallGetsItsMessageAndATrailerFrame() throws Exception {
        TestServer s = turnpike(grpcServer(), ", grpc_web: true", "");
        RawClient.Response r = client(s).send(post(path("Unary"), "application/grpc-web+proto", "",
                EchoGrpcService.frame("hello"))).read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("content-type")).isEqualTo("application/grpc-web+proto");
        assertThat(r.trailers).as("no HTTP trailers: browsers cannot read them").isEmpty();
        List<String> frames = EchoGrpcService.frames(r.body);
        assertThat(frames).hasSize(2);
        assertThat(frames.get(0)).isEqualTo("0|echo: hello");
        assertThat(frames.get(1)).startsWith("128|").contains("grpc-status: 0\r\n");
    }

    @Test
    void aTextGrpcWebCallIsBase64BothWays() throws Exception {
        TestServer s = turnpike(grpcServer(), ", grpc_web: true", "");
        byte[] body = Base64.getEncoder().encode(EchoGrpcService.frame("über text"));
        RawClient.Response r = client(s).send(post(path("Split"), "application/grpc-web-text", "", body)).read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("content-type")).isEqualTo("application/grpc-web-text");
        String text = r.bodyText();
        assertThat(text).matches("[A-Za-z0-9+/]*=*").as("one base64 stream, padded only at its end");
        List<String> frames = EchoGrpcService.frames(Base64.getDecoder().decode(text));
        assertThat(frames).containsExactly("0|über", "0|text", "128|grpc-status: 0\r\n");
    }

    @Test
    void aFailedGrpcWebCallCarriesItsStatus() throws Exception {
        TestServer s = turnpike(grpcServer(), ", grpc_web: true", "");
        RawClient.Response r = client(s).send(post(path("Unary"), "application/grpc-web+proto", "",
                EchoGrpcService.frame("fail:7"))).read();
        assertThat(r.status).isEqualTo(200);
        // grpc-java answers an immediate error trailers-only: gRPC-Web clients read the status in the head
        assertThat(r.header("content-type")).isEqualTo("application/grpc-web+proto");
        assertThat(r.header("grpc-status")).isEqualTo("7");
        assertThat(r.header("grpc-message")).isEqualTo("asked to fail");
        assertThat(r.body).isEmpty();
    }

    @Test
    void anUnknownMethodIsUnimplemented() throws Exception {
        TestServer s = turnpike(grpcServer(), ", grpc_web: true", "");
        RawClient.Response r = client(s).send(post("/test.Echo/Nope", "application/grpc-web+proto", "",
                EchoGrpcService.frame("x"))).read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("grpc-status")).isEqualTo("12");
    }

    @Test
    void corsPreflightsAreAnsweredForTheAllowedOriginsOnly() throws Exception {
        TestServer s = turnpike(grpcServer(),
                ", grpc_web: {allow_origins: [\"https://app.example\", \"https://*.apps.example\"]}", "");
        RawClient c = client(s);
        RawClient.Response pre = c.send("OPTIONS /test.Echo/Unary HTTP/1.1\r\nHost: example.test\r\n"
                + "Origin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n"
                + "Access-Control-Request-Headers: content-type,x-grpc-web,x-user-agent\r\n\r\n").read();
        assertThat(pre.status).isEqualTo(204);
        assertThat(pre.header("access-control-allow-origin")).isEqualTo("https://app.example");
        assertThat(pre.header("access-control-allow-methods")).contains("POST");
        assertThat(pre.header("access-control-allow-headers")).isEqualTo("content-type,x-grpc-web,x-user-agent");
        assertThat(pre.header("access-control-allow-credentials")).isNull();
        assertThat(pre.header("vary")).isEqualTo("origin");

        RawClient.Response call = c.send(post(path("Unary"), "application/grpc-web+proto",
                "Origin: https://app.example\r\n", EchoGrpcService.frame("cors"))).read();
        assertThat(call.header("access-control-allow-origin")).isEqualTo("https://app.example");
        assertThat(call.header("access-control-expose-headers")).contains("grpc-status").contains("grpc-message");

        RawClient.Response sub = c.send("OPTIONS /test.Echo/Unary HTTP/1.1\r\nHost: example.test\r\n"
                + "Origin: https://a.b.apps.example\r\nAccess-Control-Request-Method: POST\r\n\r\n").read();
        assertThat(sub.header("access-control-allow-origin")).as("a wildcard origin").isEqualTo("https://a.b.apps.example");

        RawClient.Response other = c.send("OPTIONS /test.Echo/Unary HTTP/1.1\r\nHost: example.test\r\n"
                + "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n\r\n").read();
        assertThat(other.status).isEqualTo(204);
        assertThat(other.header("access-control-allow-origin")).isNull();
        assertThat(other.header("access-control-allow-methods")).isNull();
    }

    @Test
    void withoutGrpcWebTheRouteDoesNotTranslate() throws Exception {
        TestServer s = turnpike(grpcServer(), "", "");
        RawClient.Response r = client(s).send(post(path("Unary"), "application/grpc-web+proto", "",
                EchoGrpcService.frame("hello"))).read();
        // grpc-java does not know application/grpc-web: the call does not reach the service
        assertThat(r.header("content-type")).doesNotStartWith("application/grpc-web");
        assertThat(service.calls.get()).isZero();
    }

    // ---- errors Turnpike generates -------------------------------------------------------------------------

    @Test
    void anUpstreamThatIsDownIsUnavailableNotA502Page() throws Exception {
        int dead;
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0)) {
            dead = ss.getLocalPort();
        }
        TestServer s = turnpike(dead, ", grpc_web: true", "    retries: {attempts: 0}\n");
        RawClient.Response web = client(s).send(post(path("Unary"), "application/grpc-web+proto", "",
                EchoGrpcService.frame("x"))).read();
        assertThat(web.status).isEqualTo(200);
        assertThat(web.header("content-type")).isEqualTo("application/grpc-web+proto");
        assertThat(web.header("grpc-status")).isEqualTo("14");
        assertThat(web.header("grpc-message")).contains("refused");
        assertThat(web.bodyText()).isEmpty();

        RawClient.Response grpc = client(s).send(post(path("Unary"), "application/grpc", "te: trailers\r\n",
                EchoGrpcService.frame("x"))).read();
        assertThat(grpc.status).isEqualTo(200);
        assertThat(grpc.header("content-type")).isEqualTo("application/grpc");
        assertThat(grpc.header("grpc-status")).isEqualTo("14");
    }

    @Test
    void aNotFoundPathIsUnimplementedForAGrpcCall() throws Exception {
        String yaml = "listen: \"127.0.0.1:0\"\naccess_log: off\nsites:\n  - routes:\n"
                + "      - path: /only/this\n        respond: ok\n";
        TestServer s = TestServer.start(yaml);
        closeables.add(s);
        RawClient.Response r = client(s).send(post(path("Unary"), "application/grpc+proto", "",
                EchoGrpcService.frame("x"))).read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("content-type")).isEqualTo("application/grpc+proto");
        assertThat(r.header("grpc-status")).isEqualTo("12");
    }

    @Test
    void theCallsDeadlineBoundsTheUpstreamAttempt() throws Exception {
        TestServer s = turnpike(grpcServer(), ", grpc_web: true", "");
        long start = System.nanoTime();
        RawClient.Response r = client(s).send(post(path("Unary"), "application/grpc-web+proto",
                "grpc-timeout: 300m\r\n", EchoGrpcService.frame("sleep:5000"))).read();
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("grpc-status")).isEqualTo("4");
        assertThat(ms).as("answered at the deadline, not when the upstream finishes").isBetween(250L, 3000L);
    }
}
