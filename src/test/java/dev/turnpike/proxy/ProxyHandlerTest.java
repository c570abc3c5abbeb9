package dev.turnpike.proxy;

import dev.turnpike.http.Handler;
import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.TestServer;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProxyHandlerTest {
    private static final long MIB = 1024 * 1024;
    private static final long GIB = 1024 * MIB;
    /**
     * What the kernel may hold between the two ends of a stalled proxied transfer: on a long transfer both TCP
     * connections autotune their receive and send buffers up to the sysctl maxima (32 MiB receive here), so the
     * bytes in flight are bounded by these, not by Turnpike. Turnpike's own share is checked through its direct
     * memory.
     */
    private static final long KERNEL_BUFFERS = 2 * tcpMax("tcp_rmem") + 2 * tcpMax("tcp_wmem");

    private static long tcpMax(String sysctl) {
        try {
            // Not Files.readString: it trusts the size /proc reports and returns only the first bytes.
            String[] v;
            try (InputStream in = Files.newInputStream(Path.of("/proc/sys/net/ipv4/" + sysctl))) {
                v = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+");
            }
            return Long.parseLong(v[2]);
        } catch (IOException | RuntimeException e) {
            return 6 * MIB;
        }
    }

    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closeables);
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    private TestUpstream upstream(TestUpstream.Handler handler) throws IOException {
        TestUpstream u = TestUpstream.start(handler);
        closeables.add(u);
        return u;
    }

    private TestServer turnpike(String proxy) throws Exception {
        return turnpike(proxy, "");
    }

    private TestServer turnpike(String proxy, String serverSettings) throws Exception {
        return turnpike(proxy, serverSettings, "listen: \"127.0.0.1:0\"");
    }

    private TestServer turnpike(String proxy, String serverSettings, String listen) throws Exception {
        String yaml = listen + "\n"
                + "server: {event_loops: 1" + serverSettings + "}\n"
                + "access_log: off\n"
                + "sites:\n"
                + "  - routes:\n"
                + "      - path: /api/*\n"
                + "        proxy: " + proxy + "\n";
        TestServer s = TestServer.start(yaml);
        closeables.add(s);
        return s;
    }

    private RawClient client(TestServer s) throws Exception {
        RawClient c = s.connect();
        closeables.add(c);
        return c;
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: example.test\r\n\r\n";
    }

    static void respond(TestUpstream.Conn c, int status, String headers, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        c.write("HTTP/1.1 " + status + " Whatever\r\nContent-Length: " + b.length + "\r\n" + headers + "\r\n");
        c.out.write(b);
        c.out.flush();
    }

    /** Answers with the request body, and the method and target in headers. */
    static boolean echo(TestUpstream.Request req, TestUpstream.Conn c) throws IOException {
        byte[] body = req.readBody();
        c.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length
                + "\r\nX-Method: " + req.method + "\r\nX-Target: " + req.target + "\r\nX-Conn: " + c.index + "\r\n\r\n");
        c.out.write(body);
        c.out.flush();
        return true;
    }

    private static ProxyHandler proxyHandler(TestServer s) {
        for (Handler h : s.server().snapshot().router().handlers()) {
            if (h instanceof ProxyHandler p) {
                return p;
            }
        }
        throw new AssertionError("no proxy handler");
    }

    private static long directMemory() {
        return PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
    }

    /** Samples the pooled allocator's direct memory in the background; {@link #max()} is the peak seen. */
    private static final class MemorySampler implements AutoCloseable {
        private final AtomicLong max = new AtomicLong(directMemory());
        private final Thread thread;
        private volatile boolean running = true;

        MemorySampler() {
            thread = Thread.ofPlatform().daemon().start(() -> {
                while (running) {
                    max.accumulateAndGet(directMemory(), Math::max);
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        /** Stops sampling and returns the peak. */
        long stop() {
            running = false;
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return max.get();
        }

        @Override
        public void close() {
            stop();
        }
    }

    private static byte pattern(long i) {
        return (byte) (i % 251);
    }

    // ---- request forwarding ---------------------------------------------------------------------------------

    @Test
    void forwardsMethodPathAndQueryWithStripPrefixAndBasePath() throws Exception {
        TestUpstream up = upstream(ProxyHandlerTest::echo);
        TestServer s = turnpike("{upstream: \"" + up.url() + "/base\", strip_prefix: /api}");
        RawClient c = client(s);

        RawClient.Response r = c.send(get("/api/users/42?x=1&y=%20z")).read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("X-Target")).isEqualTo("/base/users/42?x=1&y=%20z");
        assertThat(r.header("X-Method")).isEqualTo("GET");

        r = c.send("POST /api/items HTTP/1.1\r\nHost: example.test\r\nContent-Length: 11\r\n\r\nhello world").read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("X-Method")).isEqualTo("POST");
        assertThat(r.header("X-Target")).isEqualTo("/base/items");
        assertThat(r.bodyText()).isEqualTo("hello world");
        assertThat(up.nextRequest().target).isEqualTo("/base/users/42?x=1&y=%20z");
        TestUpstream.Request post = up.nextRequest();
        assertThat(post.header("Content-Length")).isEqualTo("11");
    }

    @Test
    void forwardsPathUnchangedWithoutStripPrefixOrBasePath() throws Exception {
        TestUpstream up = upstream(ProxyHandlerTest::echo);
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient.Response r = client(s).send(get("/api/a/%7Euser/./b?q")).read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("X-Target")).isEqualTo("/api/a/~user/b?q");
    }

    @Test
    void removesHopByHopHeadersBothWays() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            respond(c, 200, "Connection: X-Resp-Hop, close\r\nX-Resp-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
                    + "Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Resp-Keep: yes\r\n", "ok");
            return false;
        });
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        RawClient.Response r = c.send("GET /api/x HTTP/1.1\r\nHost: example.test\r\n"
                + "Connection: keep-alive, X-Custom-Hop\r\nX-Custom-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
                + "Proxy-Connection: keep-alive\r\nTE: trailers, deflate\r\nUpgrade: h2c\r\n"
                + "Proxy-Authorization: Basic Zm9vOmJhcg==\r\nX-Keep: yes\r\n\r\n").read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("ok");
        assertThat(r.header("X-Resp-Keep")).isEqualTo("yes");
        for (String name : List.of("X-Resp-Hop", "Keep-Alive", "Proxy-Connection", "Upgrade")) {
            assertThat(r.header(name)).as(name).isNull();
        }
        assertThat(r.header("Connection")).as("the upstream's close is not the client's").isNull();

        TestUpstream.Request req = up.nextRequest();
        assertThat(req.header("X-Keep")).isEqualTo("yes");
        assertThat(req.header("TE")).isEqualTo("trailers");
        for (String name : List.of("Connection", "X-Custom-Hop", "Keep-Alive", "Proxy-Connection", "Upgrade",
                "Proxy-Authorization", "Transfer-Encoding")) {
            assertThat(req.header(name)).as(name).isNull();
        }
        // the client connection is still usable although the upstream closed its own
        assertThat(c.send(get("/api/y")).read().status).isEqualTo(200);
        assertThat(up.connections.get()).isEqualTo(2);
    }

    @Test
    void obsTextInFieldValuesPassesThroughByteForByteBothWays() throws Exception {
        // RFC 9110 §5.5: a field value may carry obs-text (bytes 0x80-0xFF); a proxy forwards those bytes as they
        // came. The head writers copy Latin-1 strings, so this holds them to what Netty's encoders did.
        TestUpstream up = upstream((req, c) -> {
            respond(c, 200, "X-Resp: caf\u00e9 \u00ff\u0080\r\n", "ok");
            return true;
        });
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient.Response r = client(s).send("GET /api/x HTTP/1.1\r\nHost: example.test\r\n"
                + "X-Req: na\u00efve \u00a7\u00fe\r\n\r\n").read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("X-Resp")).isEqualTo("caf\u00e9 \u00ff\u0080");
        assertThat(up.nextRequest().header("X-Req")).isEqualTo("na\u00efve \u00a7\u00fe");
    }

    @Test
    void aConfiguredValueBeyondLatin1GoesOutWithQuestionMarksForThoseCharacters() throws Exception {
        // A field value is octets; a configured character above 0xFF has no one-byte form. It is sent as '?', as
        // Netty's encoders send it, rather than as a cut-down byte that would read as another character.
        TestUpstream up = upstream(ProxyHandlerTest::echo);
        TestServer s = turnpike("{upstream: \"" + up.url() + "\", set_headers: {X-Price: \"5 \u20ac, caf\u00e9\"}}");
        client(s).send(get("/api/x")).read();
        assertThat(up.nextRequest().header("X-Price")).isEqualTo("5 ?, caf\u00e9");
    }

    @Test
    void forwardingHeadersFromAnUntrustedClientAreReplaced() throws Exception {
        TestUpstream up = upstream(ProxyHandlerTest::echo);
        TestServer s = turnpike("\"" + up.url() + "\"");
        client(s).send("GET /api/x HTTP/1.1\r\nHost: example.test:8080\r\nX-Forwarded-For: 6.6.6.6\r\n"
                + "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\nForwarded: for=6.6.6.6\r\n\r\n").read();
        TestUpstream.Request req = up.nextRequest();
        assertThat(req.headers("X-Forwarded-For")).containsExactly("127.0.0.1");
        assertThat(req.headers("X-Forwarded-Proto")).containsExactly("http");
        assertThat(req.headers("X-Forwarded-Host")).containsExactly("example.test:8080");
        assertThat(req.headers("Forwarded")).containsExactly("for=127.0.0.1;proto=http;host=\"example.test:8080\"");
    }

    @Test
    void forwardingHeadersFromATrustedProxyAreKeptAndAppended() throws Exception {
        TestUpstream up = upstream(ProxyHandlerTest::echo);
        TestServer s = turnpike("\"" + up.url() + "\"", ", trusted_proxies: [\"127.0.0.0/8\"]");
        RawClient c = client(s);
        c.send("GET /api/x HTTP/1.1\r\nHost: example.test\r\nX-Forwarded-For: 203.0.113.7\r\n"
                + "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: www.example.test\r\n"
                + "Forwarded: for=203.0.113.7;proto=https\r\n\r\n").read();
        TestUpstream.Request req = up.nextRequest();
        assertThat(req.headers("X-Forwarded-For")).containsExactly("203.0.113.7, 10.0.0.1, 127.0.0.1");
        assertThat(req.headers("X-Forwarded-Proto")).containsExactly("https");
        assertThat(req.headers("X-Forwarded-Host")).containsExactly("www.example.test");
        assertThat(req.headers("Forwarded"))
                .containsExactly("for=203.0.113.7;proto=https, for=127.0.0.1;proto=http;host=example.test");

        // a trusted peer without forwarding headers gets ours
        c.send(get("/api/y")).read();
        req = up.nextRequest();
        assertThat(req.headers("X-Forwarded-For")).containsExactly("127.0.0.1");
        assertThat(req.headers("X-Forwarded-Proto")).containsExactly("http");
        assertThat(req.headers("X-Forwarded-Host")).containsExactly("example.test");
        assertThat(req.headers("Forwarded")).containsExactly("for=127.0.0.1;proto=http;host=example.test");
    }

    @Test
    void eachRequestOnAKeepAliveConnectionIsForwardedWithItsOwnHost() throws Exception {
        // The Forwarded element is formatted once per connection and host: a new host must not get the old one.
        TestUpstream up = upstream(ProxyHandlerTest::echo);
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        for (String host : List.of("a.example.test", "a.example.test", "b.example.test:8443", "a.example.test")) {
            assertThat(c.send("GET /api/x HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read().status).isEqualTo(200);
            TestUpstream.Request req = up.nextRequest();
            String quoted = host.contains(":") ? "\"" + host + "\"" : host;
            assertThat(req.headers("Forwarded")).containsExactly("for=127.0.0.1;proto=http;host=" + quoted);
            assertThat(req.headers("X-Forwarded-Host")).containsExactly(host);
            assertThat(req.headers("X-Forwarded-For")).containsExactly("127.0.0.1");
        }
        assertThat(up.connections.get()).isEqualTo(1);
    }

    @Test
    void aTrustedProxysForwardingFieldNamedInConnectionIsNotForwarded() throws Exception {
        // Connection names hop-by-hop fields (RFC 9110 section 7.6.1), whatever else they are: a trusted proxy's
        // X-Forwarded-Proto listed there is its own hop's, not to be kept nor replaced.
        TestUpstream up = upstream(ProxyHandlerTest::echo);
        TestServer s = turnpike("\"" + up.url() + "\"", ", trusted_proxies: [\"127.0.0.0/8\"]");
        client(s).send("GET /api/x HTTP/1.1\r\nHost: example.test\r\nConnection: X-Forwarded-Proto\r\n"
                + "X-Forwarded-Proto: https\r\nX-Forwarded-Host: www.example.test\r\nX-Other: 1\r\n\r\n").read();
        TestUpstream.Request req = up.nextRequest();
        assertThat(req.header("X-Forwarded-Proto")).isNull();
        assertThat(req.headers("X-Forwarded-Host")).containsExactly("www.example.test");
        assertThat(req.headers("X-Other")).containsExactly("1");
    }

    @Test
    void forwardedElementBracketsAndQuotesIpv6() throws Exception {
        InetAddress v6 = InetAddress.getByName("2001:db8:0:0:0:0:0:1");
        assertThat(dev.turnpike.http.ClientPeer.forwardedElement(v6, "2001:db8::1", "http", "[2001:db8::2]:8443"))
                .isEqualTo("for=\"[2001:db8::1]\";proto=http;host=\"[2001:db8::2]:8443\"");
        InetAddress v4 = InetAddress.getByName("192.0.2.60");
        assertThat(dev.turnpike.http.ClientPeer.forwardedElement(v4, "192.0.2.60", "https", null))
                .isEqualTo("for=192.0.2.60;proto=https");
    }

    @Test
    void hostIsTheUpstreamAuthorityUnlessPreserveHost() throws Exception {
        TestUpstream up = upstream(ProxyHandlerTest::echo);
        TestServer plain = turnpike("\"" + up.url() + "\"");
        client(plain).send(get("/api/x")).read();
        assertThat(up.nextRequest().headers("Host")).containsExactly("127.0.0.1:" + up.port());

        TestServer preserving = turnpike("{upstream: \"" + up.url() + "\", preserve_host: true}");
        client(preserving).send(get("/api/x")).read();
        assertThat(up.nextRequest().headers("Host")).containsExactly("example.test");
    }

    @Test
    void setHeadersAreAppliedLastAndTheRequestIdIsForwarded() throws Exception {
        TestUpstream up = upstream(ProxyHandlerTest::echo);
        TestServer s = turnpike("{upstream: \"" + up.url() + "\", set_headers: {X-A: b, User-Agent: \"\","
                + " X-Forwarded-Proto: https}}");
        RawClient.Response r = client(s).send("GET /api/x HTTP/1.1\r\nHost: example.test\r\nUser-Agent: curl/8\r\n"
                + "X-A: client\r\n\r\n").read();
        TestUpstream.Request req = up.nextRequest();
        assertThat(req.headers("X-A")).containsExactly("b");
        assertThat(req.header("User-Agent")).isNull();
        assertThat(req.headers("X-Forwarded-Proto")).containsExactly("https");
        assertThat(req.header("X-Request-ID")).isNotBlank().isEqualTo(r.header("X-Request-ID"));
    }

    // ---- connections ------------------------------------------------------------------------------------------

    @Test
    void sequentialRequestsReuseOneUpstreamConnection() throws Exception {
        TestUpstream up = upstream(ProxyHandlerTest::echo);
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        for (int i = 0; i < 10; i++) {
            RawClient.Response r = c.send(get("/api/n" + i)).read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.header("X-Target")).isEqualTo("/api/n" + i);
        }
        // another client on the same (single) event loop shares the pool
        assertThat(client(s).send(get("/api/other")).read().status).isEqualTo(200);
        assertThat(up.connections.get()).isEqualTo(1);
    }

    @Test
    void eachEventLoopHasItsOwnPool() throws Exception {
        TestUpstream up = upstream(ProxyHandlerTest::echo);
        String yaml = "listen: \"127.0.0.1:0\"\nserver: {event_loops: 2}\naccess_log: off\n"
                + "sites:\n  - routes:\n      - path: /api/*\n        proxy: \"" + up.url() + "\"\n";
        TestServer s = TestServer.start(yaml);
        closeables.add(s);
        RawClient a = client(s);
        RawClient b = client(s); // connections are spread over the loops round-robin
        for (int i = 0; i < 3; i++) {
            assertThat(a.send(get("/api/a")).read().status).isEqualTo(200);
            assertThat(b.send(get("/api/b")).read().status).isEqualTo(200);
        }
        assertThat(up.connections.get()).isEqualTo(2);
    }

    @Test
    void responseWithConnectionCloseIsNotPooled() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            respond(c, 200, "Connection: close\r\n", "bye");
            return false;
        });
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        for (int i = 0; i < 3; i++) {
            assertThat(c.send(get("/api/x")).read().bodyText()).isEqualTo("bye");
        }
        assertThat(up.connections.get()).isEqualTo(3);
    }

    @Test
    void idleConnectionClosedByTheUpstreamIsDropped() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            respond(c, 200, "", "ok");
            return false; // closes right after answering, without saying so
        });
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        assertThat(c.send(get("/api/1")).read().status).isEqualTo(200);
        assertThat(up.closed.poll(5, TimeUnit.SECONDS)).isEqualTo(1);
        Thread.sleep(50);
        assertThat(c.send(get("/api/2")).read().status).isEqualTo(200);
        assertThat(up.connections.get()).isEqualTo(2);
        assertThat(up.requests).hasSize(2); // no request was tried on the closed connection
    }

    @Test
    void stalePooledConnectionIsRetriedOnceForGet() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            if (c.requests > 1) {
                c.socket.close(); // the keep-alive connection "expired" just as the request arrived
                return false;
            }
            return echo(req, c);
        });
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        assertThat(c.send(get("/api/1")).read().status).isEqualTo(200);
        RawClient.Response r = c.send(get("/api/2")).read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("X-Target")).isEqualTo("/api/2");
        assertThat(up.connections.get()).isEqualTo(2);
        assertThat(up.requests).hasSize(3);
    }

    @Test
    void stalePooledConnectionIsNotRetriedForARequestWithABody() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            if (c.requests > 1) {
                req.readBody();
                c.socket.close();
                return false;
            }
            return echo(req, c);
        });
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        assertThat(c.send(get("/api/1")).read().status).isEqualTo(200);
        RawClient.Response r = c.send("POST /api/2 HTTP/1.1\r\nHost: example.test\r\nContent-Length: 3\r\n\r\nabc").read();
        assertThat(r.status).isEqualTo(502);
        assertThat(up.connections.get()).isEqualTo(1);
    }

    @Test
    void closingTheHandlerClosesPooledConnections() throws Exception {
        TestUpstream up = upstream(ProxyHandlerTest::echo);
        TestServer s = turnpike("\"" + up.url() + "\"");
        assertThat(client(s).send(get("/api/x")).read().status).isEqualTo(200);
        assertThat(up.openConnections.get()).isEqualTo(1);
        proxyHandler(s).close();
        assertThat(up.closed.poll(5, TimeUnit.SECONDS)).isEqualTo(1);
    }

    // ---- bodies -----------------------------------------------------------------------------------------------

    @Test
    void chunkedRequestAndResponseWithTrailers() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            byte[] body = req.readBody();
            c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n");
            c.write(Integer.toHexString(body.length) + "\r\n");
            c.out.write(body);
            c.write("\r\n3\r\nend\r\n0\r\nX-Sum: " + body.length + "\r\nX-Got: " + req.trailer("X-Checksum") + "\r\n\r\n");
            return true;
        });
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        RawClient.Response r = c.send("POST /api/x HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n"
                + "TE: trailers\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n").read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("Transfer-Encoding")).isEqualTo("chunked");
        assertThat(r.bodyText()).isEqualTo("hello worldend");
        assertThat(r.trailers).anySatisfy(t -> assertThat(t).containsExactly("X-Sum", "11"));
        assertThat(r.trailers).anySatisfy(t -> assertThat(t).containsExactly("X-Got", "abc"));
        TestUpstream.Request req = up.nextRequest();
        assertThat(req.header("Transfer-Encoding")).isEqualTo("chunked");
        assertThat(req.trailer("X-Checksum")).isEqualTo("abc");
        // still in sync afterwards
        assertThat(c.send("POST /api/y HTTP/1.1\r\nHost: example.test\r\nContent-Length: 2\r\n\r\nok").read()
                .bodyText()).isEqualTo("okend");
        assertThat(up.connections.get()).isEqualTo(1);
    }

    @Test
    void closeDelimitedResponseIsRechunked() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            c.write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
            return false;
        });
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        RawClient.Response r = c.send(get("/api/x")).read();
        assertThat(r.header("Transfer-Encoding")).isEqualTo("chunked");
        assertThat(r.bodyText()).isEqualTo("until the end");
        assertThat(c.send(get("/api/x")).read().bodyText()).isEqualTo("until the end");
    }

    @Test
    void headResponsesHaveNoBody() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n");
            if (!req.method.equals("HEAD")) {
                c.out.write(new byte[1000]);
                c.out.flush();
            }
            return true;
        });
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        RawClient.Response r = c.send("HEAD /api/x HTTP/1.1\r\nHost: example.test\r\n\r\n").readHead();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("Content-Length")).isEqualTo("1000");
        r = c.send(get("/api/x")).read();
        assertThat(r.body).hasSize(1000);
        assertThat(up.connections.get()).isEqualTo(1);
    }

    @Test
    void informationalResponsesAreDropped() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            c.write("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n");
            respond(c, 200, "", "final");
            return true;
        });
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        RawClient.Response r = c.send(get("/api/x")).read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("final");
        assertThat(c.send(get("/api/x")).read().bodyText()).isEqualTo("final");
    }

    /**
     * A 1 GiB upload to an upstream that stops reading twice (before the first byte and half way): each time
     * Turnpike must stop taking bytes from the client instead of buffering them, and its direct memory must
     * stay flat for the whole transfer.
     */
    @Test
    void uploadOf1GiBToASlowUpstreamKeepsMemoryBounded() throws Exception {
        long size = GIB;
        AtomicLong received = new AtomicLong();
        CountDownLatch startReading = new CountDownLatch(1);
        CountDownLatch resumeReading = new CountDownLatch(1);
        TestUpstream up = upstream((req, c) -> {
            startReading.await(30, TimeUnit.SECONDS);
            byte[] buf = new byte[64 * 1024];
            long at = 0;
            boolean paused = false;
            int n;
            while ((n = req.body.read(buf)) > 0) {
                check(buf, n, at);
                at += n;
                received.set(at);
                if (!paused && at >= size / 2) {
                    paused = true;
                    resumeReading.await(30, TimeUnit.SECONDS);
                }
            }
            respond(c, 200, "", Long.toString(at));
            return true;
        });
        TestServer s = turnpike("\"" + up.url() + "\"", "",
                "listeners: [{address: \"127.0.0.1:0\", limits: {max_body_size: 0}}]");
        long before = directMemory();
        try (MemorySampler memory = new MemorySampler(); Socket socket = new Socket()) {
            socket.setSendBufferSize(64 * 1024);
            socket.connect(new InetSocketAddress("127.0.0.1", s.port()));
            socket.setSoTimeout(60_000);
            AtomicLong sent = new AtomicLong();
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    OutputStream out = socket.getOutputStream();
                    out.write(("PUT /api/upload HTTP/1.1\r\nHost: example.test\r\nContent-Length: " + size + "\r\n\r\n")
                            .getBytes(StandardCharsets.ISO_8859_1));
                    byte[] block = new byte[64 * 1024];
                    for (long off = 0; off < size; off += block.length) {
                        fill(block, off);
                        out.write(block);
                        sent.set(off + block.length);
                    }
                    out.flush();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            // The upstream does not read yet: Turnpike must stop reading the client rather than buffer.
            long stalledAt = awaitStable(sent);
            assertThat(stalledAt).as("bytes taken from the client while the upstream does not read")
                    .isLessThan(24 * MIB);
            startReading.countDown();
            awaitAtLeast(received, size / 2);
            long stalledAgainAt = awaitStable(sent);
            assertThat(stalledAgainAt - received.get()).as("bytes between client and a stalled upstream, half way")
                    .isLessThan(KERNEL_BUFFERS + 8 * MIB);
            resumeReading.countDown();
            writer.join(120_000);
            assertThat(writer.isAlive()).as("upload still running").isFalse();

            InputStream in = socket.getInputStream();
            String status = TestUpstream.readLine(in);
            List<String[]> headers = TestUpstream.readFields(in);
            assertThat(status).startsWith("HTTP/1.1 200");
            String length = headers.stream().filter(h -> h[0].equalsIgnoreCase("content-length")).findFirst()
                    .orElseThrow()[1];
            assertThat(new String(in.readNBytes(Integer.parseInt(length)), StandardCharsets.US_ASCII))
                    .isEqualTo(Long.toString(size));
            assertThat(received.get()).isEqualTo(size);
            assertThat(memory.stop() - before).as("direct memory growth during the upload").isLessThan(16 * MIB);
        }
    }

    /**
     * A 1 GiB download read by a client that stops twice (after 1 MiB and half way): each time the upstream
     * must be held back, and Turnpike's direct memory must stay flat for the whole transfer.
     */
    @Test
    void downloadOf1GiBToASlowClientKeepsMemoryBounded() throws Exception {
        long size = GIB;
        AtomicLong written = new AtomicLong();
        TestUpstream up = upstream((req, c) -> {
            c.socket.setSendBufferSize(64 * 1024);
            c.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + size + "\r\n\r\n");
            byte[] block = new byte[64 * 1024];
            for (long off = 0; off < size; off += block.length) {
                fill(block, off);
                c.out.write(block);
                written.set(off + block.length);
            }
            c.out.flush();
            return true;
        });
        TestServer s = turnpike("{upstream: \"" + up.url() + "\", idle_timeout: 10s}");
        long before = directMemory();
        try (MemorySampler memory = new MemorySampler(); Socket socket = new Socket()) {
            socket.setReceiveBufferSize(64 * 1024);
            socket.connect(new InetSocketAddress("127.0.0.1", s.port()));
            socket.setSoTimeout(60_000);
            socket.getOutputStream().write(get("/api/big").getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = socket.getInputStream();
            assertThat(TestUpstream.readLine(in)).startsWith("HTTP/1.1 200");
            List<String[]> headers = TestUpstream.readFields(in);
            assertThat(headers).anySatisfy(h -> assertThat(h).containsExactly("Content-Length", Long.toString(size)));

            byte[] buf = new byte[64 * 1024];
            long read = 0;
            for (long pauseAt : new long[] {MIB, size / 2}) {
                while (read < pauseAt) {
                    read += check(buf, in.read(buf, 0, (int) Math.min(buf.length, pauseAt - read)), read);
                }
                long heldAt = awaitStable(written);
                assertThat(heldAt - read).as("bytes in flight for a client stalled at " + read)
                        .isLessThan(KERNEL_BUFFERS + 8 * MIB);
            }
            while (read < size) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, size - read));
                read += check(buf, n, read);
            }
            assertThat(memory.stop() - before).as("direct memory growth during the download").isLessThan(16 * MIB);
        }
    }

    private static void awaitAtLeast(AtomicLong progress, long target) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (progress.get() < target) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("stuck at " + progress.get() + " of " + target + " bytes");
            }
            Thread.sleep(5);
        }
    }

    /**
     * Waits until {@code progress} stops moving (the transfer is held back and only kernel buffers fill) and
     * returns where it stopped; fails if it keeps moving, i.e. something buffers without bound.
     */
    private static long awaitStable(AtomicLong progress) throws InterruptedException {
        long last = progress.get();
        int unchanged = 0;
        for (int i = 0; i < 50; i++) {
            Thread.sleep(100);
            long now = progress.get();
            unchanged = now == last ? unchanged + 1 : 0;
            last = now;
            if (unchanged == 4) {
                return now;
            }
        }
        throw new AssertionError("the transfer was not held back; at " + last + " bytes");
    }

    /** {@code pattern(i)} for i in [0, 251 + 64 KiB): a block at any offset is a slice of it. */
    private static final byte[] PATTERN = new byte[251 + 64 * 1024];

    static {
        for (int i = 0; i < PATTERN.length; i++) {
            PATTERN[i] = pattern(i);
        }
    }

    private static void fill(byte[] block, long offset) {
        System.arraycopy(PATTERN, (int) (offset % 251), block, 0, block.length);
    }

    private static int check(byte[] buf, int n, long offset) {
        if (n < 0) {
            throw new AssertionError("connection closed at " + offset);
        }
        int from = (int) (offset % 251);
        int mismatch = Arrays.mismatch(buf, 0, n, PATTERN, from, from + n);
        if (mismatch >= 0) {
            throw new AssertionError("corrupt body at " + (offset + mismatch));
        }
        return n;
    }

    // ---- failures ---------------------------------------------------------------------------------------------

    @Test
    void refusedConnectionIs502WithoutTheAddress() throws Exception {
        int port;
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = ss.getLocalPort();
        }
        TestServer s = turnpike("{upstream: \"http://127.0.0.1:" + port + "\", connect_timeout: 1s}");
        RawClient.Response r = client(s).send(get("/api/x")).read();
        assertThat(r.status).isEqualTo(502);
        assertThat(r.bodyText()).containsIgnoringCase("the upstream refused the connection")
                .doesNotContain("127.0.0.1").doesNotContain(Integer.toString(port));
    }

    @Test
    void connectTimeoutIs504() throws Exception {
        // A listener that never accepts: once its accept queue is full the kernel ignores further SYNs.
        try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<Socket> fillers = new ArrayList<>();
            boolean blackHole = false;
            try {
                for (int i = 0; i < 16 && !blackHole; i++) {
                    Socket probe = new Socket();
                    fillers.add(probe);
                    try {
                        probe.connect(full.getLocalSocketAddress(), 200);
                    } catch (java.net.SocketTimeoutException e) {
                        blackHole = true;
                    }
                }
                Assumptions.assumeTrue(blackHole, "the kernel answers connects beyond the accept queue");
                TestServer s = turnpike("{upstream: \"http://127.0.0.1:" + full.getLocalPort()
                        + "\", connect_timeout: 300ms}");
                long start = System.nanoTime();
                RawClient.Response r = client(s).send(get("/api/x")).read();
                assertThat(r.status).isEqualTo(504);
                assertThat(r.bodyText()).containsIgnoringCase("in time").doesNotContain("127.0.0.1");
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(250L, 3000L);
            } finally {
                for (Socket f : fillers) {
                    f.close();
                }
            }
        }
    }

    @Test
    void expectContinueIsAnsweredByTurnpikeOnceTheUpstreamIsConnected() throws Exception {
        TestUpstream up = upstream(ProxyHandlerTest::echo);
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        c.send("PUT /api/x HTTP/1.1\r\nHost: example.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
        assertThat(c.read().status).isEqualTo(100);
        RawClient.Response r = c.send("hello").read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("hello");
        assertThat(up.nextRequest().header("Expect")).isNull();
    }

    @Test
    void errorBodyIsJsonOrHtmlByAccept() throws Exception {
        int port;
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = ss.getLocalPort();
        }
        TestServer s = turnpike("\"http://127.0.0.1:" + port + "\"");
        RawClient c = client(s);
        RawClient.Response json = c.send("GET /api/x HTTP/1.1\r\nHost: example.test\r\nAccept: application/json\r\n\r\n")
                .read();
        assertThat(json.status).isEqualTo(502);
        assertThat(json.header("Content-Type")).startsWith("application/json");
        assertThat(json.bodyText()).startsWith("{").contains("\"status\":502");
        RawClient.Response html = c.send("GET /api/x HTTP/1.1\r\nHost: example.test\r\nAccept: text/html\r\n\r\n").read();
        assertThat(html.status).isEqualTo(502);
        assertThat(html.header("Content-Type")).startsWith("text/html");
        assertThat(html.bodyText()).contains("<h1>502");
    }

    @Test
    void noResponseHeadInTimeIs504() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        TestUpstream up = upstream((req, c) -> {
            release.await(10, TimeUnit.SECONDS);
            return false;
        });
        TestServer s = turnpike("{upstream: \"" + up.url() + "\", response_timeout: 300ms}");
        long start = System.nanoTime();
        RawClient.Response r = client(s).send(get("/api/x")).read();
        release.countDown();
        assertThat(r.status).isEqualTo(504);
        assertThat(r.bodyText()).containsIgnoringCase("did not respond in time").doesNotContain("127.0.0.1");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(250L, 3000L);
        assertThat(up.closed.poll(5, TimeUnit.SECONDS)).as("the upstream connection is closed").isEqualTo(1);
    }

    @Test
    void upstreamClosingBeforeTheHeadIs502() throws Exception {
        TestUpstream up = upstream((req, c) -> false);
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        RawClient.Response r = c.send(get("/api/x")).read();
        assertThat(r.status).isEqualTo(502);
        assertThat(r.bodyText()).containsIgnoringCase("closed the connection").doesNotContain("127.0.0.1");
        assertThat(up.connections.get()).as("a fresh connection is not retried").isEqualTo(1);
        // the client connection survives an upstream failure
        assertThat(c.send(get("/api/x")).read().status).isEqualTo(502);
    }

    @Test
    void garbageOrOversizedResponseHeadIs502() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            if (req.target.endsWith("garbage")) {
                c.write("SPDY/9 banana\r\n\r\n");
            } else {
                c.write("HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(100 * 1024) + "\r\nContent-Length: 0\r\n\r\n");
            }
            return false;
        });
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        assertThat(c.send(get("/api/garbage")).read().status).isEqualTo(502);
        RawClient.Response r = c.send(get("/api/big-head")).read();
        assertThat(r.status).isEqualTo(502);
        assertThat(r.bodyText()).containsIgnoringCase("invalid response");
    }

    @Test
    void upstreamClosingMidBodyTruncatesTheClientResponse() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
            c.out.write(new byte[1000]);
            c.out.flush();
            return false;
        });
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient c = client(s);
        c.send(get("/api/x"));
        InputStream in = c.socket().getInputStream();
        assertThat(TestUpstream.readLine(in)).startsWith("HTTP/1.1 200");
        assertThat(TestUpstream.readFields(in)).anySatisfy(h -> assertThat(h[0]).isEqualToIgnoringCase("content-length"));
        assertThat(in.readAllBytes()).hasSize(1000); // then the connection closes: the client sees the truncation
    }

    @Test
    void stalledResponseBodyTruncatesAfterTheIdleTimeout() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        TestUpstream up = upstream((req, c) -> {
            c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
            release.await(10, TimeUnit.SECONDS);
            return false;
        });
        TestServer s = turnpike("{upstream: \"" + up.url() + "\", idle_timeout: 300ms}");
        RawClient c = client(s);
        c.send(get("/api/x"));
        InputStream in = c.socket().getInputStream();
        assertThat(TestUpstream.readLine(in)).startsWith("HTTP/1.1 200");
        TestUpstream.readFields(in);
        long start = System.nanoTime();
        String rest = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        release.countDown();
        assertThat(rest).startsWith("5\r\nhello\r\n").doesNotContain("0\r\n\r\n");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(200L, 3000L);
        assertThat(up.closed.poll(5, TimeUnit.SECONDS)).isEqualTo(1);
    }

    @Test
    void clientDisconnectMidResponseClosesTheUpstreamConnection() throws Exception {
        CountDownLatch headSent = new CountDownLatch(1);
        TestUpstream up = upstream((req, c) -> {
            if (req.target.endsWith("slow")) {
                c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                headSent.countDown();
                for (int i = 0; i < 200; i++) {
                    c.write("5\r\nchunk\r\n");
                    Thread.sleep(20);
                }
                c.write("0\r\n\r\n");
                return true;
            }
            return echo(req, c);
        });
        TestServer s = turnpike("\"" + up.url() + "\"");
        RawClient first = client(s);
        first.send(get("/api/slow"));
        assertThat(TestUpstream.readLine(first.socket().getInputStream())).startsWith("HTTP/1.1 200");
        first.close();
        assertThat(up.closed.poll(5, TimeUnit.SECONDS)).as("the upstream connection is closed, not pooled").isEqualTo(1);

        RawClient.Response r = client(s).send(get("/api/next")).read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("X-Target")).isEqualTo("/api/next");
        assertThat(r.header("X-Conn")).isEqualTo("2");
    }

    // ---- response headers -------------------------------------------------------------------------------------

    @Test
    void serverHeaderIsReplacedOrHidden() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            respond(c, 200, "Server: upstream/1.0\r\n", "ok");
            return true;
        });
        TestServer replacing = turnpike("\"" + up.url() + "\"");
        assertThat(client(replacing).send(get("/api/x")).read().headers("Server")).containsExactly("Turnpike");
        TestServer hiding = turnpike("\"" + up.url() + "\"", ", server_header: \"\"");
        assertThat(client(hiding).send(get("/api/x")).read().header("Server")).isNull();
    }
}
