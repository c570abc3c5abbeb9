package dev.turnpike.proxy;

import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Routes that proxy to a cluster, over real sockets: balancing, health, backup, circuit breaking, stickiness. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ClusterProxyTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closeables);
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    /** An upstream that answers 200 with its name in X-Who (and in the body). */
    TestUpstream named(String name) throws IOException {
        TestUpstream u = TestUpstream.start((req, c) -> {
            req.readBody();
            ProxyHandlerTest.respond(c, 200, "X-Who: " + name + "\r\n", name);
            return true;
        });
        closeables.add(u);
        return u;
    }

    TestUpstream upstream(TestUpstream.Handler h) throws IOException {
        TestUpstream u = TestUpstream.start(h);
        closeables.add(u);
        return u;
    }

    /** A loopback port nothing listens on (an upstream that is down). */
    static int deadPort() throws IOException {
        TestUpstream u = TestUpstream.start((req, c) -> false);
        int port = u.port();
        u.close();
        return port;
    }

    static String ep(TestUpstream u) {
        return "127.0.0.1:" + u.port();
    }

    /** A server whose /api/* routes proxy with {@code proxy}, with the given clusters section (indented 2). */
    TestServer turnpike(String clusters, String proxy) throws Exception {
        return turnpike(clusters, proxy, "off");
    }

    TestServer turnpike(String clusters, String proxy, String accessLog) throws Exception {
        return turnpike(clusters, proxy, accessLog, "{event_loops: 1}");
    }

    TestServer turnpike(String clusters, String proxy, String accessLog, String server) throws Exception {
        String yaml = "listen: \"127.0.0.1:0\"\n"
                + "server: " + server + "\n"
                + "access_log: " + accessLog + "\n"
                + "clusters:\n" + clusters
                + "sites:\n"
                + "  - routes:\n"
                + "      - path: /api/*\n"
                + "        proxy: " + proxy + "\n";
        TestServer s = TestServer.start(yaml);
        closeables.add(s);
        return s;
    }

    RawClient client(TestServer s) throws Exception {
        RawClient c = s.connect();
        closeables.add(c);
        return c;
    }

    static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: example.test\r\n\r\n";
    }

    static String get(String path, String headers) {
        return "GET " + path + " HTTP/1.1\r\nHost: example.test\r\n" + headers + "\r\n";
    }

    static void await(java.util.function.BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met in time");
            }
            Thread.sleep(20);
        }
    }

    /** Every attempt and request was reported as ended: nothing in flight, no request slot held. */
    static void assertSettled(TestServer s, String cluster) throws InterruptedException {
        var c = s.server().snapshot().clusters().require(cluster);
        await(() -> c.retryBudget().activeRequests() == 0
                && c.circuitBreaker().current(dev.turnpike.upstream.cluster.CircuitBreaker.Kind.REQUESTS) == 0
                && c.endpoints().stream().allMatch(e -> e.inFlight() == 0));
    }

    // ---- tests --------------------------------------------------------------------------------------------

    @Test
    void roundRobinSpreadsRequestsAcrossEndpoints() throws Exception {
        TestUpstream a = named("a");
        TestUpstream b = named("b");
        TestUpstream c = named("c");
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s, %s, %s]
                    load_balancing: { policy: round_robin }
                """.formatted(ep(a), ep(b), ep(c)), "{cluster: api}");
        RawClient client = client(s);
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < 30; i++) {
            RawClient.Response r = client.send(get("/api/x")).read();
            assertThat(r.status).isEqualTo(200);
            seen.merge(r.header("X-Who"), 1, Integer::sum);
        }
        assertThat(seen).containsOnlyKeys("a", "b", "c");
        assertThat(seen.values()).allSatisfy(n -> assertThat(n).isEqualTo(10));
        // the Host header names the endpoint chosen
        assertThat(a.nextRequest().header("Host")).isEqualTo(ep(a));
        assertSettled(s, "api");
        assertThat(s.server().snapshot().clusters().require("api").endpoints())
                .allSatisfy(e -> assertThat(e.totalRequests()).isEqualTo(10));
    }

    @Test
    void anEndpointThatRefusesConnectionsIsEjectedByOutlierDetection() throws Exception {
        TestUpstream a = named("a");
        int dead = deadPort();
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s, 127.0.0.1:%d]
                    load_balancing: { policy: round_robin }
                    retries: { attempts: 0 }
                    health: { passive: { consecutive_connect_failures: 1, max_ejection_percent: 50 } }
                """.formatted(ep(a), dead), "{cluster: api}");
        RawClient client = client(s);
        int failures = 0;
        for (int i = 0; i < 10; i++) {
            RawClient.Response r = client.send(get("/api/x")).read();
            if (r.status == 502) {
                failures++;
            } else {
                assertThat(r.status).isEqualTo(200);
                assertThat(r.header("X-Who")).isEqualTo("a");
            }
        }
        assertThat(failures).as("only the first request to the dead endpoint fails").isLessThanOrEqualTo(1);
        assertSettled(s, "api");
    }

    @Test
    void anEndpointThatActiveChecksMarkDownIsSkipped() throws Exception {
        TestUpstream a = named("a");
        int dead = deadPort();
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s, 127.0.0.1:%d]
                    load_balancing: { policy: round_robin }
                    retries: { attempts: 0 }
                    health: { active: { type: tcp, interval: 100ms, timeout: 50ms, fall: 1, rise: 1 } }
                """.formatted(ep(a), dead), "{cluster: api}");
        var cluster = s.server().snapshot().clusters().require("api");
        await(() -> cluster.healthSnapshot().endpoints().stream().filter(v -> v.endpoint().port() == dead)
                .anyMatch(v -> v.health() == dev.turnpike.upstream.lb.Health.DOWN));
        RawClient client = client(s);
        for (int i = 0; i < 10; i++) {
            RawClient.Response r = client.send(get("/api/x")).read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.header("X-Who")).isEqualTo("a");
        }
    }

    @Test
    void theBackupTakesOverWhenThePrimariesAreDown() throws Exception {
        TestUpstream backup = named("backup");
        int dead = deadPort();
        TestServer s = turnpike("""
                  api:
                    endpoints:
                      - 127.0.0.1:%d
                      - { address: %s, backup: true }
                    retries: { attempts: 0 }
                    health: { active: { type: tcp, interval: 100ms, timeout: 50ms, fall: 1, rise: 1 } }
                """.formatted(dead, ep(backup)), "{cluster: api}");
        var cluster = s.server().snapshot().clusters().require("api");
        await(() -> cluster.healthSnapshot().endpoints().stream().filter(v -> v.endpoint().port() == dead)
                .anyMatch(v -> v.health() == dev.turnpike.upstream.lb.Health.DOWN));
        RawClient client = client(s);
        for (int i = 0; i < 5; i++) {
            RawClient.Response r = client.send(get("/api/x")).read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.header("X-Who")).isEqualTo("backup");
        }
    }

    @Test
    void theCircuitBreakerAnswers503OverMaxRequestsAndFreesTheSlotAfterwards() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        TestUpstream up = upstream((req, c) -> {
            if (req.target.contains("slow")) {
                release.await(10, TimeUnit.SECONDS);
            }
            ProxyHandlerTest.respond(c, 200, "", "ok");
            return true;
        });
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s]
                    limits: { max_requests: 1 }
                """.formatted(ep(up)), "{cluster: api}");
        RawClient slow = client(s);
        slow.send(get("/api/slow"));
        assertThat(up.nextRequest().target).isEqualTo("/api/slow");

        RawClient other = client(s);
        assertThat(other.send(get("/api/fast")).read().status).isEqualTo(503);
        release.countDown();
        assertThat(slow.read().status).isEqualTo(200);
        assertThat(other.send(get("/api/fast")).read().status).isEqualTo(200);
        assertSettled(s, "api");
    }

    @Test
    void theStickyCookiePinsAndFallsBackWhenThePinnedEndpointIsDown() throws Exception {
        TestUpstream a = named("a");
        TestUpstream b = named("b");
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s, %s]
                    load_balancing: { policy: sticky, cookie: SID }
                    retries: { attempts: 0 }
                    health: { passive: { consecutive_connect_failures: 1, max_ejection_percent: 50 } }
                """.formatted(ep(a), ep(b)), "{cluster: api}");
        RawClient client = client(s);
        RawClient.Response first = client.send(get("/api/x")).read();
        assertThat(first.status).isEqualTo(200);
        String setCookie = first.header("Set-Cookie");
        assertThat(setCookie).startsWith("SID=").contains("Path=/", "HttpOnly");
        String cookie = setCookie.substring(0, setCookie.indexOf(';'));
        String pinned = first.header("X-Who");
        for (int i = 0; i < 6; i++) {
            RawClient.Response r = client.send(get("/api/x", "Cookie: other=1; " + cookie + "\r\n")).read();
            assertThat(r.header("X-Who")).isEqualTo(pinned);
            assertThat(r.header("Set-Cookie")).isNull();
        }

        (pinned.equals("a") ? a : b).close();
        String survivor = pinned.equals("a") ? "b" : "a";
        // The failures that eject the pinned endpoint are answered 502: a refused connect ejects it at once, but
        // when the request first went out on the pooled connection the upstream just closed, that reset comes
        // first (it is not a connect failure) and the refused connect of the next request ejects it.
        RawClient.Response r = client.send(get("/api/x", "Cookie: " + cookie + "\r\n")).read();
        for (int failures = 1; r.status == 502 && failures <= 2; failures++) {
            r = client.send(get("/api/x", "Cookie: " + cookie + "\r\n")).read();
        }
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("X-Who")).isEqualTo(survivor);
        assertThat(r.header("Set-Cookie")).startsWith("SID=").doesNotStartWith(cookie + ";");
    }

    @Test
    void ipHashUsesTheClientThatATrustedProxyForwardsFor() throws Exception {
        TestUpstream a = named("a");
        TestUpstream b = named("b");
        String clusters = """
                  api:
                    endpoints: [%s, %s]
                    load_balancing: { policy: ip_hash }
                """.formatted(ep(a), ep(b));
        TestServer trusting = turnpike(clusters, "{cluster: api}", "off",
                "{event_loops: 1, trusted_proxies: [127.0.0.1]}");
        TestServer wary = turnpike(clusters, "{cluster: api}", "off", "{event_loops: 1}");
        RawClient viaProxy = client(trusting);
        RawClient direct = client(wary);
        Map<String, String> first = new HashMap<>();
        java.util.Set<String> seenTrusting = new java.util.HashSet<>();
        java.util.Set<String> seenWary = new java.util.HashSet<>();
        for (int round = 0; round < 2; round++) {
            for (int i = 1; i <= 20; i++) {
                String xff = "X-Forwarded-For: 198.51.100." + i + "\r\n";
                String who = viaProxy.send(get("/api/x", xff)).read().header("X-Who");
                assertThat(first.computeIfAbsent("198.51.100." + i, k -> who)).as("client %d keeps its endpoint", i)
                        .isEqualTo(who);
                seenTrusting.add(who);
                seenWary.add(direct.send(get("/api/x", xff)).read().header("X-Who"));
            }
        }
        assertThat(seenTrusting).as("20 forwarded clients spread over both endpoints").containsExactlyInAnyOrder("a", "b");
        assertThat(seenWary).as("an untrusted peer's X-Forwarded-For is ignored: one client, one endpoint")
                .hasSize(1);
    }

    // ---- retries ------------------------------------------------------------------------------------------

    @Test
    void aGetToAnEndpointThatRefusesTheConnectionIsRetriedOnAnother() throws Exception {
        TestUpstream a = named("a");
        int dead = deadPort();
        TestServer s = turnpike("""
                  api:
                    endpoints: [127.0.0.1:%d, %s]
                    load_balancing: { policy: round_robin }
                    retries: { attempts: 1 }
                """.formatted(dead, ep(a)), "{cluster: api}");
        RawClient client = client(s);
        for (int i = 0; i < 6; i++) {
            RawClient.Response r = client.send(get("/api/x")).read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.header("X-Who")).isEqualTo("a");
        }
        // and a POST too: the refused connect cannot have reached anything
        RawClient.Response r = client.send("POST /api/p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi").read();
        assertThat(r.status).isEqualTo(200);
        r = client.send("POST /api/p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi").read();
        assertThat(r.status).isEqualTo(200);
        assertSettled(s, "api");
        assertThat(s.server().snapshot().clusters().require("api").retryBudget().retriesInFlight()).isZero();
    }

    @Test
    void theAccessLogListsEveryEndpointTriedInOrder(@TempDir Path dir) throws Exception {
        TestUpstream a = named("a");
        int dead = deadPort();
        Path log = dir.resolve("access.log");
        TestServer s = turnpike("""
                  api:
                    endpoints: [127.0.0.1:%d, %s]
                    load_balancing: { policy: round_robin }
                    retries: { attempts: 1 }
                """.formatted(dead, ep(a)), "{cluster: api}", "{format: json, output: \"" + log + "\"}");
        RawClient client = client(s);
        assertThat(client.send(get("/api/1")).read().status).isEqualTo(200);
        assertThat(client.send(get("/api/2")).read().status).isEqualTo(200);
        s.close();
        List<String> lines = Files.readAllLines(log);
        assertThat(lines).hasSize(2);
        String both = "\"upstream\":\"127.0.0.1:" + dead + ", " + ep(a) + "\"";
        // round robin starts anywhere, so one of two requests at least meets the dead endpoint first
        assertThat(lines).allSatisfy(l -> assertThat(l).endsWith(ep(a) + "\"}"))
                .anySatisfy(l -> assertThat(l).contains(both));
    }

    @Test
    void aGetAnswered503IsRetriedOnAnotherEndpointAndThe503IsHeldBack() throws Exception {
        TestUpstream bad = upstream((req, c) -> {
            req.readBody();
            ProxyHandlerTest.respond(c, 503, "X-Who: bad\r\n", "busy");
            return true;
        });
        TestUpstream a = upstream(ProxyHandlerTest::echo);
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s, %s]
                    load_balancing: { policy: round_robin }
                    retries: { attempts: 1, on: [503] }
                """.formatted(ep(bad), ep(a)), "{cluster: api}");
        RawClient client = client(s);
        for (int i = 0; i < 4; i++) {
            RawClient.Response r = client.send(get("/api/x")).read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.header("X-Who")).isNull();
        }
        assertThat(bad.requests).hasSizeGreaterThanOrEqualTo(1);
        // a PUT with a small body is idempotent: retried with the body sent again (kept under buffer_body)
        for (int i = 0; i < 2; i++) {
            RawClient.Response r = client.send("PUT /api/doc HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
                    .read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("hello");
        }
        // a POST is not idempotent: the 503 goes to the client
        int posts503 = 0;
        for (int i = 0; i < 2; i++) {
            RawClient.Response r = client.send("POST /api/p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
                    .read();
            if (r.status == 503) {
                posts503++;
                assertThat(r.bodyText()).isEqualTo("busy");
            }
        }
        assertThat(posts503).isEqualTo(1);
        assertSettled(s, "api");
    }

    @Test
    void aPostThatReachedAnUpstreamWhichThenClosedIsNeverSentTwice() throws Exception {
        TestUpstream closer = upstream((req, c) -> {
            req.readBody();
            return false; // closes without answering
        });
        TestUpstream a = upstream(ProxyHandlerTest::echo);
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s, %s]
                    load_balancing: { policy: round_robin }
                    retries: { attempts: 3, on: [reset, timeout, 502, 503] }
                """.formatted(ep(closer), ep(a)), "{cluster: api}");
        int sent = 6;
        int failed = 0;
        for (int i = 0; i < sent; i++) {
            RawClient c = client(s);
            RawClient.Response r = c.send("POST /api/p HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody")
                    .read();
            if (r.status == 502) {
                failed++;
            } else {
                assertThat(r.status).isEqualTo(200);
            }
        }
        assertThat(failed).isEqualTo(3);
        Thread.sleep(200);
        assertThat(closer.requests.size() + a.requests.size()).as("each POST reached exactly one upstream once")
                .isEqualTo(sent);

        // the same failure on a GET is retried (reset is listed): it lands on the other endpoint
        RawClient c = client(s);
        for (int i = 0; i < 2; i++) {
            assertThat(c.send(get("/api/x")).read().status).isEqualTo(200);
        }
        assertSettled(s, "api");
    }

    @Test
    void noRetryWhenTheRetryBudgetIsExhausted() throws Exception {
        TestUpstream bad = upstream((req, c) -> {
            ProxyHandlerTest.respond(c, 503, "", "busy");
            return true;
        });
        TestUpstream a = named("a");
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s, %s]
                    load_balancing: { policy: round_robin }
                    retries: { attempts: 2, on: [503], budget: 0%%, min_concurrent: 0 }
                """.formatted(ep(bad), ep(a)), "{cluster: api}");
        RawClient client = client(s);
        int unavailable = 0;
        for (int i = 0; i < 4; i++) {
            int status = client.send(get("/api/x")).read().status;
            if (status == 503) {
                unavailable++;
            }
        }
        assertThat(unavailable).isEqualTo(2);
        assertThat(bad.requests).hasSize(2);
        assertThat(s.server().snapshot().clusters().require("api").retryBudget().exhausted()).isEqualTo(2);
        assertSettled(s, "api");
    }

    // ---- split and mirror ---------------------------------------------------------------------------------

    @Test
    void aWeightedSplitSendsRoughlyItsShareToEachCluster() throws Exception {
        TestUpstream stable = named("stable");
        TestUpstream canary = named("canary");
        TestServer s = turnpike("""
                  stable:
                    endpoints: [%s]
                  canary:
                    endpoints: [%s]
                """.formatted(ep(stable), ep(canary)),
                "{split: [{cluster: stable, weight: 90}, {cluster: canary, weight: 10}]}");
        RawClient client = client(s);
        Map<String, Integer> seen = new HashMap<>();
        int n = 400;
        for (int i = 0; i < n; i++) {
            RawClient.Response r = client.send(get("/api/x")).read();
            assertThat(r.status).isEqualTo(200);
            seen.merge(r.header("X-Who"), 1, Integer::sum);
        }
        // expected 40 canary requests (sd 6): loose bounds
        assertThat(seen.getOrDefault("canary", 0)).isBetween(15, 75);
        assertThat(seen.getOrDefault("stable", 0) + seen.getOrDefault("canary", 0)).isEqualTo(n);
        assertSettled(s, "stable");
        assertSettled(s, "canary");
    }

    @Test
    void aSlowShadowGetsTheCopyAndDoesNotDelayThePrimary() throws Exception {
        TestUpstream primary = upstream(ProxyHandlerTest::echo);
        CountDownLatch shadowGot = new CountDownLatch(2);
        TestUpstream shadow = upstream((req, c) -> {
            req.readBody();
            shadowGot.countDown();
            Thread.sleep(2000);
            ProxyHandlerTest.respond(c, 200, "", "shadow");
            return true;
        });
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s]
                  shadow:
                    endpoints: [%s]
                """.formatted(ep(primary), ep(shadow)), "{cluster: api, mirror: {cluster: shadow, percent: 100}}");
        RawClient client = client(s);
        long t0 = System.nanoTime();
        RawClient.Response r = client.send(get("/api/x?q=1")).read();
        assertThat(r.status).isEqualTo(200);
        r = client.send("PUT /api/doc HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello").read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("hello");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).as("the primary is not slowed")
                .isLessThan(1500);
        assertThat(shadowGot.await(5, TimeUnit.SECONDS)).isTrue();
        TestUpstream.Request copy = shadow.nextRequest();
        assertThat(copy.method).isEqualTo("GET");
        assertThat(copy.target).isEqualTo("/api/x?q=1");
        assertThat(copy.header("Host")).isEqualTo(ep(shadow));
        TestUpstream.Request putCopy = shadow.nextRequest();
        assertThat(putCopy.method).isEqualTo("PUT");
        assertThat(putCopy.bodyBytes).isEqualTo("hello".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertThat(primary.requests).hasSize(2);
        assertSettled(s, "shadow");
        assertSettled(s, "api");
    }

    @Test
    void aDeadShadowDoesNotAffectThePrimary() throws Exception {
        TestUpstream primary = named("primary");
        int dead = deadPort();
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s]
                  shadow:
                    endpoints: [127.0.0.1:%d]
                """.formatted(ep(primary), dead), "{cluster: api, mirror: shadow}");
        RawClient client = client(s);
        for (int i = 0; i < 5; i++) {
            RawClient.Response r = client.send(get("/api/x")).read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.header("X-Who")).isEqualTo("primary");
        }
        assertSettled(s, "shadow");
        assertThat(s.server().snapshot().clusters().require("shadow").endpoints().getFirst().totalFailures())
                .isEqualTo(5);
    }

    // ---- pool limits and the total timeout ----------------------------------------------------------------

    @Test
    void aConnectionIsClosedAfterMaxRequestsPerConnection() throws Exception {
        TestUpstream up = named("a");
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s]
                    dns_refresh: 5s
                    pool: { max_requests_per_connection: 2 }
                """.formatted(ep(up)), "{cluster: api}");
        RawClient client = client(s);
        for (int i = 0; i < 6; i++) {
            assertThat(client.send(get("/api/x")).read().status).isEqualTo(200);
        }
        assertThat(up.connections.get()).isEqualTo(3);
        assertThat(s.server().snapshot().clusters().require("api").poolConfig().dnsTtl())
                .isEqualTo(java.time.Duration.ofSeconds(5));
    }

    @Test
    void aConnectionOlderThanMaxConnectionLifetimeIsNotReused() throws Exception {
        TestUpstream up = named("a");
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s]
                    pool: { max_connection_lifetime: 300ms }
                """.formatted(ep(up)), "{cluster: api}");
        RawClient client = client(s);
        assertThat(client.send(get("/api/x")).read().status).isEqualTo(200);
        assertThat(client.send(get("/api/x")).read().status).isEqualTo(200);
        assertThat(up.connections.get()).isEqualTo(1);
        Thread.sleep(500);
        assertThat(client.send(get("/api/x")).read().status).isEqualTo(200);
        assertThat(up.connections.get()).isEqualTo(2);
    }

    @Test
    void theTotalTimeoutEndsTheExchangeWith504() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            Thread.sleep(3000);
            ProxyHandlerTest.respond(c, 200, "", "late");
            return true;
        });
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s]
                    timeouts: { total: 300ms }
                """.formatted(ep(up)), "{cluster: api}");
        long t0 = System.nanoTime();
        RawClient.Response r = client(s).send(get("/api/x")).read();
        assertThat(r.status).isEqualTo(504);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(2000);
        assertSettled(s, "api");
    }

    @Test
    void theSendTimeoutEndsAnUploadTheUpstreamDoesNotReadWith504() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        closeables.add(release::countDown);
        TestUpstream up = upstream((req, c) -> {
            release.await(10, TimeUnit.SECONDS); // reads the head, never the body
            return false;
        });
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s]
                    timeouts: { send: 300ms }
                """.formatted(ep(up)), "{cluster: api}");
        RawClient client = client(s);
        int size = 8 * 1024 * 1024;
        long t0 = System.nanoTime();
        client.send("POST /api/upload HTTP/1.1\r\nHost: example.test\r\nContent-Length: " + size + "\r\n\r\n");
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                byte[] chunk = new byte[64 * 1024];
                for (int sent = 0; sent < size; sent += chunk.length) {
                    client.send(chunk);
                }
            } catch (IOException e) {
                // the server stopped reading the body once it answered
            }
        });
        closeables.add(writer::interrupt);
        RawClient.Response r = client.readHead();
        assertThat(r.status).isEqualTo(504);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(2000);
        var api = s.server().snapshot().clusters().require("api");
        await(() -> api.endpoints().stream().allMatch(e -> e.inFlight() == 0));
        // closed, not pooled: the circuit breaker's gauge counts the open connections even without a limit
        await(() -> api.circuitBreaker().current(dev.turnpike.upstream.cluster.CircuitBreaker.Kind.CONNECTIONS) == 0);
        assertSettled(s, "api");
    }

    @Test
    void theSendTimeoutBoundsAStallNotASlowSteadyUpload() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            byte[] body = req.readBody();
            ProxyHandlerTest.respond(c, 200, "", "got " + body.length);
            return true;
        });
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s]
                    timeouts: { send: 300ms }
                """.formatted(ep(up)), "{cluster: api}");
        RawClient client = client(s);
        // 10 parts, 100 ms apart: the upload takes ~1 s, three times the send timeout, but never stalls.
        client.send("POST /api/upload HTTP/1.1\r\nHost: example.test\r\nContent-Length: 10240\r\n\r\n");
        byte[] part = new byte[1024];
        for (int i = 0; i < 10; i++) {
            Thread.sleep(100);
            client.send(part);
        }
        RawClient.Response r = client.read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("got 10240");
        assertSettled(s, "api");
    }

    @Test
    void theClusterConnectionLimitAnswers503AndFreesItsSlots() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        closeables.add(release::countDown);
        TestUpstream up = upstream((req, c) -> {
            if (req.target.contains("slow")) {
                release.await(10, TimeUnit.SECONDS);
            }
            ProxyHandlerTest.respond(c, 200, "Connection: close\r\n", "ok");
            return false;
        });
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s]
                    limits: { max_connections: 1 }
                """.formatted(ep(up)), "{cluster: api}");
        RawClient first = client(s);
        first.send(get("/api/slow1"));
        assertThat(up.nextRequest().target).isEqualTo("/api/slow1");
        RawClient second = client(s);
        RawClient.Response refused = second.send(get("/api/slow2")).read();
        assertThat(refused.status).isEqualTo(503);
        assertThat(refused.bodyText()).contains("connection limit");
        release.countDown();
        assertThat(first.read().status).isEqualTo(200);

        var breaker = s.server().snapshot().clusters().require("api").circuitBreaker();
        assertThat(breaker.trips(dev.turnpike.upstream.cluster.CircuitBreaker.Kind.CONNECTIONS)).isEqualTo(1);
        await(() -> breaker.current(dev.turnpike.upstream.cluster.CircuitBreaker.Kind.CONNECTIONS) == 0
                && breaker.current(dev.turnpike.upstream.cluster.CircuitBreaker.Kind.PENDING) == 0);
        assertThat(client(s).send(get("/api/after")).read().status).isEqualTo(200);
        assertThat(up.connections.get()).isEqualTo(2);
        assertSettled(s, "api");
    }

    @Test
    void overMaxConnectionsRequestsWaitInABoundedQueueAndTimeOutWith503() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        TestUpstream up = upstream((req, c) -> {
            if (req.target.contains("slow")) {
                release.await(10, TimeUnit.SECONDS);
            }
            ProxyHandlerTest.respond(c, 200, "", "ok");
            return true;
        });
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s]
                    pool: { max_connections: 1, max_pending: 1, pending_timeout: 300ms }
                """.formatted(ep(up)), "{cluster: api}");
        RawClient slow = client(s);
        slow.send(get("/api/slow"));
        assertThat(up.nextRequest().target).isEqualTo("/api/slow");

        RawClient waiting = client(s);
        long t0 = System.nanoTime();
        waiting.send(get("/api/wait"));
        Thread.sleep(50);
        RawClient.Response full = client(s).send(get("/api/full")).read();
        assertThat(full.status).as("the pending queue is full").isEqualTo(503);
        assertThat(waiting.read().status).as("the pending timeout expired").isEqualTo(503);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(250L, 3000L);
        release.countDown();
        assertThat(slow.read().status).isEqualTo(200);
        assertThat(client(s).send(get("/api/after")).read().status).isEqualTo(200);
        assertThat(up.connections.get()).isEqualTo(1);
        assertSettled(s, "api");
    }

    @Test
    void aWaitingRequestGetsTheConnectionWhenItIsReleased() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            if (req.target.contains("slow")) {
                Thread.sleep(300);
            }
            ProxyHandlerTest.respond(c, 200, "", "ok");
            return true;
        });
        TestServer s = turnpike("""
                  api:
                    endpoints: [%s]
                    pool: { max_connections: 1, max_pending: 4, pending_timeout: 5s }
                """.formatted(ep(up)), "{cluster: api}");
        RawClient slow = client(s);
        slow.send(get("/api/slow"));
        assertThat(up.nextRequest().target).isEqualTo("/api/slow");
        RawClient waiting = client(s);
        waiting.send(get("/api/wait"));
        assertThat(slow.read().status).isEqualTo(200);
        assertThat(waiting.read().status).isEqualTo(200);
        assertThat(up.connections.get()).as("the waiter reused the released connection").isEqualTo(1);
        assertSettled(s, "api");
    }

    // ---- Unix sockets -------------------------------------------------------------------------------------

    @Test
    void aUnixSocketEndpointIsProxiedTo() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("tp");
        java.nio.file.Path sock = dir.resolve("up.sock");
        var server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX);
        server.bind(java.net.UnixDomainSocketAddress.of(sock));
        List<String> heads = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread acceptor = Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    var ch = server.accept();
                    Thread.ofVirtual().start(() -> {
                        try (ch; var in = java.nio.channels.Channels.newInputStream(ch);
                             var out = java.nio.channels.Channels.newOutputStream(ch)) {
                            StringBuilder head = new StringBuilder();
                            int b;
                            while ((b = in.read()) >= 0) {
                                head.append((char) b);
                                if (head.toString().endsWith("\r\n\r\n")) {
                                    heads.add(head.toString());
                                    head.setLength(0);
                                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nunix"
                                            .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                                    out.flush();
                                }
                            }
                        } catch (IOException ignored) {
                            // peer gone
                        }
                    });
                }
            } catch (IOException e) {
                // closed
            }
        });
        closeables.add(() -> {
            server.close();
            acceptor.interrupt();
            java.nio.file.Files.deleteIfExists(sock);
            java.nio.file.Files.deleteIfExists(dir);
        });
        TestServer s = turnpike("""
                  api:
                    endpoints: ["unix:%s"]
                """.formatted(sock), "{cluster: api}");
        RawClient client = client(s);
        for (int i = 0; i < 3; i++) {
            RawClient.Response r = client.send(get("/api/u")).read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("unix");
        }
        assertThat(heads).hasSize(3);
        assertThat(heads.getFirst()).startsWith("GET /api/u HTTP/1.1").contains("host: localhost");
        assertSettled(s, "api");
    }
}
