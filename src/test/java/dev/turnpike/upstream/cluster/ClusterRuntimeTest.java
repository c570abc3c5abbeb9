package dev.turnpike.upstream.cluster;

import dev.turnpike.config.ClusterConfig;
import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.PoolConfig;
import dev.turnpike.upstream.cluster.ClusterTesting.TinyUpstream;
import dev.turnpike.upstream.health.HealthSnapshot;
import dev.turnpike.upstream.lb.BasicPickContext;
import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.HashKey;
import dev.turnpike.upstream.lb.Health;
import dev.turnpike.upstream.lb.LbOptions;
import dev.turnpike.upstream.lb.PickContext;
import dev.turnpike.upstream.lb.PickResult;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static dev.turnpike.upstream.cluster.ClusterTesting.await;
import static dev.turnpike.upstream.cluster.ClusterTesting.cluster;
import static dev.turnpike.upstream.cluster.ClusterTesting.httpCheck;
import static dev.turnpike.upstream.cluster.ClusterTesting.outlier;
import static dev.turnpike.upstream.cluster.ClusterTesting.tcp;
import static dev.turnpike.upstream.cluster.ClusterTesting.unix;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClusterRuntimeTest {

    private EventLoopGroup group;
    private ExecutorService blocking;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeEach
    void setUp() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        blocking = Executors.newFixedThreadPool(2);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        blocking.shutdownNow();
    }

    private ClusterRuntime build(ClusterConfig config) {
        ClusterRuntime c = ClusterRuntime.build(config, group, NioSocketChannel.class, blocking);
        closeables.add(c);
        return c;
    }

    private TinyUpstream upstream() throws Exception {
        TinyUpstream u = new TinyUpstream();
        closeables.add(u);
        return u;
    }

    // ------------------------------------------------------------------------------------------- building

    @Test
    void endpointsFollowTheConfiguration() {
        ClusterRuntime c = build(cluster("api", tcp("10.0.0.1", 8080, 3, false), tcp("[::1]", 9000, 1, true),
                unix("/run/app.sock")).slowStart(Duration.ofSeconds(10)).build());

        assertThat(c.name()).isEqualTo("api");
        List<EndpointState> es = c.endpoints();
        assertThat(es).hasSize(3);
        assertThat(es.get(0).endpoint()).isEqualTo(new Endpoint("10.0.0.1", 8080));
        assertThat(es.get(0).weight()).isEqualTo(3);
        assertThat(es.get(0).isBackup()).isFalse();
        assertThat(es.get(1).endpoint()).isEqualTo(new Endpoint("::1", 9000));
        assertThat(es.get(1).isBackup()).isTrue();
        assertThat(es).allSatisfy(e -> {
            assertThat(e.settings().slowStartWindow()).isEqualTo(Duration.ofSeconds(10));
            assertThat(e.health()).isEqualTo(Health.UP);
        });

        assertThat(c.target(es.get(0))).isEqualTo(new UpstreamTarget.Tcp(new Endpoint("10.0.0.1", 8080)));
        assertThat(c.target(es.get(1)).describe()).isEqualTo("[::1]:9000");
        UpstreamTarget t = c.target(es.get(2));
        assertThat(t).isInstanceOf(UpstreamTarget.Unix.class);
        assertThat(((UpstreamTarget.Unix) t).path()).isEqualTo(Path.of("/run/app.sock"));
        assertThat(t.key()).isEqualTo(es.get(2).endpoint());
        assertThat(t.describe()).isEqualTo("unix:/run/app.sock");
        assertThat(c.target(new EndpointState(new Endpoint("10.0.0.1", 8080), 3))).as("not a member").isNull();

        assertThat(c.hasActiveChecks()).isFalse();
        assertThat(c.hasOutlierDetection()).isFalse();
        assertThat(c.stickyCookie()).isNull();
    }

    @Test
    void requestLevelSettingsFollowTheConfiguration() {
        ClusterConfig config = cluster("api", tcp("10.0.0.1", 8080)).retries(2, Set.of("reset", "503"))
                .limits(10, 20, 30).build();
        ClusterRuntime c = build(config);
        assertThat(c.config()).isSameAs(config);
        assertThat(c.retryPolicy().maxRetries()).isEqualTo(2);
        assertThat(c.retryPolicy().retriesStatus(503)).isTrue();
        assertThat(c.retryBudget().budgetPercent()).isEqualTo(20);
        assertThat(c.retryBudget().minRetriesConcurrent()).isEqualTo(3);
        assertThat(c.circuitBreaker().limit(CircuitBreaker.Kind.CONNECTIONS)).isEqualTo(10);
        assertThat(c.circuitBreaker().limit(CircuitBreaker.Kind.PENDING)).isEqualTo(20);
        assertThat(c.circuitBreaker().limit(CircuitBreaker.Kind.REQUESTS)).isEqualTo(30);
        assertThat(c.timeouts()).isEqualTo(new StageTimeouts(Duration.ofSeconds(5).toNanos(),
                Duration.ofSeconds(60).toNanos(), Duration.ofSeconds(60).toNanos(), Duration.ofSeconds(60).toNanos(),
                0));
        assertThat(c.timeouts().hasTotal()).isFalse();
        PoolConfig pool = c.poolConfig();
        assertThat(pool.connectTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(pool.maxIdlePerLoop()).isEqualTo(64);
        assertThat(pool.idleExpiry()).isEqualTo(Duration.ofSeconds(60));
        assertThat(c.dnsRefresh()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void policyAndOptionsAreMapped() {
        ClusterRuntime lc = build(cluster("lc", tcp("10.0.0.1", 80), tcp("10.0.0.2", 80)).lb("least_connections")
                .build());
        assertThat(lc.balancer().snapshot().policy()).isEqualTo("least_connections");

        ClusterConfig hashed = cluster("h", tcp("10.0.0.1", 80), tcp("10.0.0.2", 80), tcp("10.0.0.3", 80))
                .hash("consistent_hash", "header:X-User", "maglev").build();
        LbOptions o = ClusterRuntime.lbOptions(hashed);
        assertThat(o.hashKey()).isEqualTo(HashKey.header("X-User"));
        assertThat(o.hashTable()).isEqualTo(LbOptions.HashTable.MAGLEV);
        ClusterRuntime h = build(hashed);
        PickContext alice = new BasicPickContext().header("x-user", "alice");
        EndpointState first = h.pick(alice).endpoint();
        for (int i = 0; i < 50; i++) {
            assertThat(h.pick(alice).endpoint()).isSameAs(first);
        }

        assertThatThrownBy(() -> build(cluster("bad", tcp("10.0.0.1", 80)).lb("fastest").build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fastest");
    }

    @Test
    void stickyPinsAndSaysWhichCookieToSet() {
        ClusterConfig config = cluster("s", tcp("10.0.0.1", 80), tcp("10.0.0.2", 80), tcp("10.0.0.3", 80))
                .sticky("tp_pin", "least_connections", Duration.ofHours(1)).build();
        LbOptions o = ClusterRuntime.lbOptions(config);
        assertThat(o.stickyCookie()).isEqualTo("tp_pin");
        assertThat(o.stickyPolicy()).isEqualTo("least_connections");
        ClusterRuntime c = build(config);

        PickResult fresh = c.pick(PickContext.EMPTY);
        assertThat(fresh.setCookieName()).isEqualTo("tp_pin");
        String header = c.stickyCookie().headerValue(fresh, false);
        assertThat(header).startsWith("tp_pin=" + fresh.setCookieValue() + ";")
                .contains("Path=/", "Max-Age=3600", "HttpOnly", "SameSite=Lax").doesNotContain("Secure");
        assertThat(c.stickyCookie().headerValue(fresh, true)).endsWith("; Secure");
        assertThat(header).doesNotContain("10.0.0.");

        PickContext pinned = new BasicPickContext().cookie("tp_pin", fresh.setCookieValue());
        for (int i = 0; i < 20; i++) {
            PickResult again = c.pick(pinned);
            assertThat(again.endpoint()).isSameAs(fresh.endpoint());
            assertThat(again.setCookieName()).isNull();
            assertThat(c.stickyCookie().headerValue(again, false)).isNull();
        }

        ClusterRuntime session = build(cluster("t", tcp("10.0.0.1", 80)).sticky("tp", "round_robin", null).build());
        assertThat(session.stickyCookie().headerValue(session.pick(PickContext.EMPTY), false))
                .doesNotContain("Max-Age");
    }

    @Test
    void aRetryAvoidsTheTriedEndpoint() {
        ClusterRuntime c = build(cluster("r", tcp("10.0.0.1", 80), tcp("10.0.0.2", 80)).build());
        for (int i = 0; i < 10; i++) {
            BasicPickContext ctx = new BasicPickContext();
            EndpointState first = c.pick(ctx).endpoint();
            ctx.tried(first);
            assertThat(c.pick(ctx).endpoint()).isNotSameAs(first);
        }
    }

    // ------------------------------------------------------------------------------------------- outcomes

    @Test
    void attemptResultsUpdateLoadAndOutlierDetection() {
        ClusterRuntime c = build(cluster("o", tcp("10.0.0.1", 80), tcp("10.0.0.2", 80), tcp("10.0.0.3", 80))
                .passive(outlier(2, 3)).build());
        assertThat(c.hasOutlierDetection()).isTrue();
        EndpointState a = c.endpoints().get(0);
        EndpointState b = c.endpoints().get(1);

        c.onAttemptStart(a);
        c.onAttemptStart(a);
        assertThat(a.inFlight()).isEqualTo(2);
        c.onAttemptResult(a, Outcome.CANCELLED, 1_000);
        c.onAttemptResult(a, Outcome.HTTP_5XX, 1_000);
        assertThat(a.inFlight()).isZero();
        assertThat(a.totalFailures()).isEqualTo(1);
        assertThat(a.isUp()).as("one 5xx, and a cancellation that does not count").isTrue();

        c.onAttemptStart(a);
        c.onAttemptResult(a, Outcome.TIMEOUT, 1_000); // a timeout counts as a 5xx for ejection
        assertThat(a.health()).isEqualTo(Health.DOWN);
        assertThat(a.downReason()).contains("ejected");
        assertThat(c.isEjected(a)).isTrue();

        for (int i = 0; i < 3; i++) {
            c.onAttemptStart(b);
            c.onAttemptResult(b, Outcome.CONNECT_FAILURE, 1_000);
        }
        assertThat(c.isEjected(b)).isTrue();

        HealthSnapshot snap = c.healthSnapshot();
        assertThat(snap.cluster()).isEqualTo("o");
        assertThat(snap.outlierDetection()).isTrue();
        assertThat(snap.find(a.endpoint()).ejected()).isTrue();
        assertThat(snap.find(c.endpoints().get(2).endpoint()).health()).isEqualTo(Health.UP);

        for (int i = 0; i < 10; i++) {
            assertThat(c.pick(PickContext.EMPTY).endpoint()).isSameAs(c.endpoints().get(2));
        }
    }

    @Test
    void requestAndRetryAccounting() {
        ClusterRuntime c = build(cluster("l", tcp("10.0.0.1", 80)).limits(0, 0, 2).build());
        assertThat(c.tryStartRequest()).isTrue();
        assertThat(c.tryStartRequest()).isTrue();
        assertThat(c.tryStartRequest()).as("max_requests").isFalse();
        assertThat(c.circuitBreaker().trips(CircuitBreaker.Kind.REQUESTS)).isEqualTo(1);
        assertThat(c.retryBudget().activeRequests()).isEqualTo(2);
        // 20% of 2 is 0: the minimum of 3 applies
        assertThat(c.tryStartRetry()).isTrue();
        assertThat(c.tryStartRetry()).isTrue();
        assertThat(c.tryStartRetry()).isTrue();
        assertThat(c.tryStartRetry()).isFalse();
        c.endRetry();
        c.endRetry();
        c.endRetry();
        c.endRequest();
        c.endRequest();
        assertThat(c.circuitBreaker().current(CircuitBreaker.Kind.REQUESTS)).isZero();
        assertThat(c.retryBudget().activeRequests()).isZero();
        assertThat(c.retryBudget().retriesInFlight()).isZero();
    }

    // ------------------------------------------------------------------------------------------- health checks

    @Test
    void activeChecksTakeAFailingEndpointOutAndBringItBack() throws Exception {
        TinyUpstream good = upstream();
        TinyUpstream bad = upstream();
        bad.status = 503;
        ClusterRuntime c = build(cluster("hc", tcp("127.0.0.1", good.port()), tcp("127.0.0.1", bad.port()))
                .active(httpCheck(Duration.ofMillis(50), 1, 1)).build());
        EndpointState g = c.endpoints().get(0);
        EndpointState b = c.endpoints().get(1);
        assertThat(c.hasActiveChecks()).isTrue();
        assertThat(b.isUp()).as("nothing runs before start()").isTrue();

        c.start();
        c.start(); // idempotent
        await(() -> b.health() == Health.DOWN, () -> "503 endpoint down: " + c.healthSnapshot());
        assertThat(b.downReason()).contains("status 503");
        await(() -> c.healthSnapshot().find(g.endpoint()).check() == HealthSnapshot.Check.UP,
                () -> "200 endpoint checked: " + c.healthSnapshot());
        assertThat(g.isUp()).isTrue();
        assertThat(c.healthSnapshot().activeChecks()).isTrue();
        await(() -> c.balancer().snapshot().upCount() == 1, () -> "balancer rebuilt: " + c.balancer());
        for (int i = 0; i < 20; i++) {
            assertThat(c.pick(PickContext.EMPTY).endpoint()).isSameAs(g);
        }

        bad.status = 200;
        await(b::isUp, () -> "endpoint back up: " + c.healthSnapshot());
        assertThat(good.requests.get()).isPositive();

        c.close();
        assertThat(c.isClosed()).isTrue();
        assertThatThrownBy(c::start).isInstanceOf(IllegalStateException.class);
        int seen = good.requests.get();
        Thread.sleep(200);
        assertThat(good.requests.get()).as("no probes after close").isLessThanOrEqualTo(seen + 1);
    }

    @Test
    void unixEndpointsAreProbedAndEjectedLikeTcpOnes() throws Exception {
        Path dir = Files.createTempDirectory("tp-health");
        Path live = dir.resolve("live.sock");
        List<String> probes = Collections.synchronizedList(new ArrayList<>());
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(live));
        Thread acceptor = Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    SocketChannel ch = server.accept();
                    Thread.ofVirtual().start(() -> {
                        try (ch; InputStream in = Channels.newInputStream(ch);
                             OutputStream out = Channels.newOutputStream(ch)) {
                            StringBuilder head = new StringBuilder();
                            int b;
                            while ((b = in.read()) >= 0 && !head.append((char) b).toString().endsWith("\r\n\r\n")) {
                                // read the head
                            }
                            probes.add(head.toString());
                            out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                                    .getBytes(StandardCharsets.ISO_8859_1));
                        } catch (IOException ignored) {
                            // the prober went away
                        }
                    });
                }
            } catch (IOException closed) {
                // test over
            }
        });
        try {
            TinyUpstream good = upstream();
            ClusterRuntime c = build(cluster("mixed", unix(live.toString()), unix(dir.resolve("gone.sock").toString()),
                    tcp("127.0.0.1", good.port())).active(httpCheck(Duration.ofMillis(50), 1, 1))
                    .passive(outlier(0, 2)).build());
            c.start();
            EndpointState up = c.endpoints().get(0);
            EndpointState gone = c.endpoints().get(1);
            EndpointState t = c.endpoints().get(2);
            await(() -> c.healthSnapshot().find(gone.endpoint()).check() == HealthSnapshot.Check.DOWN
                            && c.healthSnapshot().find(up.endpoint()).check() == HealthSnapshot.Check.UP
                            && c.healthSnapshot().find(t.endpoint()).check() == HealthSnapshot.Check.UP,
                    () -> "all probed: " + c.healthSnapshot());
            HealthSnapshot snap = c.healthSnapshot();
            assertThat(snap.endpoints()).extracting(HealthSnapshot.EndpointView::endpoint)
                    .containsExactly(up.endpoint(), gone.endpoint(), t.endpoint());
            assertThat(snap.find(gone.endpoint()).reason()).startsWith("health check: connect");
            assertThat(gone.isUp()).isFalse();
            assertThat(probes).isNotEmpty().allSatisfy(h -> assertThat(h).startsWith("GET /healthz HTTP/1.1")
                    .containsIgnoringCase("host: localhost"));

            c.onAttemptStart(up);
            c.onAttemptResult(up, Outcome.CONNECT_FAILURE, 1_000);
            c.onAttemptStart(up);
            c.onAttemptResult(up, Outcome.CONNECT_FAILURE, 1_000);
            assertThat(c.isEjected(up)).isTrue();
            assertThat(c.healthSnapshot().find(up.endpoint()).ejected()).isTrue();
        } finally {
            server.close();
            acceptor.interrupt();
            Files.deleteIfExists(live);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void loadIsSpreadOverTheEndpointsByWeight() {
        ClusterRuntime c = build(cluster("w", tcp("10.0.0.1", 80, 3, false), tcp("10.0.0.2", 80, 1, false),
                tcp("10.0.0.3", 80, 1, true)).build());
        Map<EndpointState, Integer> counts = new HashMap<>();
        for (int i = 0; i < 400; i++) {
            counts.merge(c.pick(PickContext.EMPTY).endpoint(), 1, Integer::sum);
        }
        assertThat(counts.get(c.endpoints().get(0))).isEqualTo(300);
        assertThat(counts.get(c.endpoints().get(1))).isEqualTo(100);
        assertThat(counts).doesNotContainKey(c.endpoints().get(2));
    }
}
