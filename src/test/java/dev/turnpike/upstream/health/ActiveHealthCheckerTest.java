package dev.turnpike.upstream.health;

import dev.turnpike.config.ClusterConfig.ActiveCheck;
import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.lb.EndpointSettings;
import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.Health;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.turnpike.upstream.health.HealthTesting.await;
import static dev.turnpike.upstream.health.HealthTesting.http;
import static dev.turnpike.upstream.health.HealthTesting.httpBody;
import static dev.turnpike.upstream.health.HealthTesting.local;
import static dev.turnpike.upstream.health.HealthTesting.tcp;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Active checks against real sockets on loopback. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class ActiveHealthCheckerTest {
    private static final Duration INTERVAL = Duration.ofMillis(50);
    private static final ProbeResolver NO_DNS = e -> CompletableFuture.failedFuture(
            new AssertionError("no lookup expected for " + e));

    private EventLoopGroup group;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeEach
    void setUp() {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private FakeUpstream upstream() throws Exception {
        FakeUpstream u = new FakeUpstream();
        closeables.add(u);
        return u;
    }

    private ActiveHealthChecker start(ClusterHealth health, ActiveCheck check) {
        return start(health, check, NO_DNS, ActiveHealthChecker.StartMode.ASSUME_UP);
    }

    private ActiveHealthChecker start(ClusterHealth health, ActiveCheck check, ProbeResolver resolver,
                                      ActiveHealthChecker.StartMode mode) {
        ActiveHealthChecker c = new ActiveHealthChecker(health, check, group, NioSocketChannel.class, resolver, mode);
        closeables.add(c);
        c.start();
        return c;
    }

    private static HealthSnapshot.EndpointView view(ClusterHealth health, EndpointState s) {
        return health.snapshot().find(s.endpoint());
    }

    @Test
    void healthyServerStaysUpAndGetsAWellFormedRequest() throws Exception {
        FakeUpstream u = upstream();
        EndpointState s = local(u.port());
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        AtomicInteger changes = new AtomicInteger();
        s.healthListener((e, from, to) -> changes.incrementAndGet());
        start(health, http("/healthz", 2, 3, INTERVAL, Duration.ofSeconds(1)));

        await(() -> view(health, s).checkSuccesses() >= 5, () -> "5 passes: " + view(health, s));

        assertThat(s.health()).isEqualTo(Health.UP);
        assertThat(changes).hasValue(0);
        HealthSnapshot.EndpointView v = view(health, s);
        assertThat(v.check()).isEqualTo(HealthSnapshot.Check.UP);
        assertThat(v.lastCheck()).isEqualTo("ok");
        assertThat(v.checkFailures()).isZero();
        String head = u.requests.getFirst().toLowerCase();
        assertThat(head).startsWith("get /healthz http/1.1\r\n")
                .contains("host: 127.0.0.1:" + u.port() + "\r\n")
                .contains("user-agent: turnpike-health-check\r\n")
                .contains("connection: close\r\n");
        // one fresh connection per check
        assertThat(u.accepted.get()).isGreaterThanOrEqualTo(5);
    }

    @Test
    void configuredHostHeaderIsSent() throws Exception {
        FakeUpstream u = upstream();
        EndpointState s = local(u.port());
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        start(health, new ActiveCheck(ActiveCheck.Kind.HTTP, "/status?full=1", Optional.of("app.internal"), 200,
                200, Optional.empty(), INTERVAL, Duration.ofSeconds(1), 1, 1, 0));

        await(() -> !u.requests.isEmpty(), () -> "a request");

        assertThat(u.requests.getFirst().toLowerCase()).startsWith("get /status?full=1 http/1.1\r\n")
                .contains("host: app.internal\r\n");
    }

    @Test
    void goesDownAfterFallFailuresAndBackAfterRiseSuccesses() throws Exception {
        FakeUpstream u = upstream();
        EndpointState s = local(u.port(), EndpointSettings.DEFAULTS.withSlowStart(Duration.ofSeconds(30), 1, 0.1));
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        AtomicInteger failuresSeenAtDown = new AtomicInteger(-1);
        AtomicInteger passesSeenAtUp = new AtomicInteger(-1);
        AtomicInteger base200 = new AtomicInteger();
        s.healthListener((e, from, to) -> {
            if (to == Health.DOWN) {
                failuresSeenAtDown.set(u.served(503));
            } else if (to == Health.UP) {
                passesSeenAtUp.set(u.served(200) - base200.get());
            }
        });
        start(health, http("/", 2, 3, INTERVAL, Duration.ofSeconds(1)));
        await(() -> view(health, s).checkSuccesses() >= 1, () -> "a first pass");

        u.status = 503;
        // The listener runs on the event loop just after the state changes: wait for it too.
        await(() -> s.health() == Health.DOWN && failuresSeenAtDown.get() >= 0, () -> "down: " + view(health, s));

        assertThat(failuresSeenAtDown).hasValue(3);
        assertThat(s.downReason()).isEqualTo("health check: status 503 (expected 200-399)");
        assertThat(view(health, s).check()).isEqualTo(HealthSnapshot.Check.DOWN);
        assertThat(view(health, s).reason()).isEqualTo("health check: status 503 (expected 200-399)");

        base200.set(u.served(200));
        u.status = 200;
        await(() -> s.health() == Health.UP && passesSeenAtUp.get() >= 0, () -> "up: " + view(health, s));

        assertThat(passesSeenAtUp).hasValue(2);
        assertThat(s.downReason()).isNull();
        assertThat(s.isWarming()).as("back through slow start").isTrue();
    }

    @Test
    void firstFailureOfAnUncheckedEndpointTakesItDownAtOnce() throws Exception {
        FakeUpstream u = upstream();
        u.status = 500;
        EndpointState s = local(u.port());
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        AtomicInteger servedAtDown = new AtomicInteger(-1);
        s.healthListener((e, from, to) -> servedAtDown.set(u.served(500)));
        start(health, http("/", 1, 3, INTERVAL, Duration.ofSeconds(1)));

        await(() -> s.health() == Health.DOWN, () -> "down");

        assertThat(servedAtDown).hasValue(1);
        assertThat(s.downReason()).isEqualTo("health check: status 500 (expected 200-399)");
    }

    @Test
    void downUntilFirstPassHoldsANewEndpointDown() throws Exception {
        FakeUpstream u = upstream();
        u.status = 503;
        EndpointState s = local(u.port());
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        start(health, http("/", 3, 3, INTERVAL, Duration.ofSeconds(1)), NO_DNS,
                ActiveHealthChecker.StartMode.DOWN_UNTIL_FIRST_PASS);

        await(() -> s.health() == Health.DOWN, () -> "held down");
        await(() -> u.served(503) >= 1 && s.downReason().contains("503"), () -> "reason follows the check");
        assertThat(view(health, s).check()).isEqualTo(HealthSnapshot.Check.PENDING);

        AtomicInteger servedAtUp = new AtomicInteger(-1);
        s.healthListener((e, from, to) -> servedAtUp.set(u.served(200)));
        u.status = 200;
        await(() -> s.health() == Health.UP, () -> "up after one pass (not rise)");
        assertThat(servedAtUp).hasValue(1);
    }

    @Test
    void wrongBodyGoesDown() throws Exception {
        FakeUpstream u = upstream();
        u.body = "status: degraded";
        EndpointState s = local(u.port());
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        start(health, httpBody("/", "ok", 1, 1, INTERVAL));

        await(() -> s.health() == Health.DOWN, () -> "down");
        assertThat(s.downReason()).isEqualTo("health check: body does not contain \"ok\"");

        u.body = "status: ok";
        await(() -> s.health() == Health.UP, () -> "up");
    }

    @Test
    void onlyTheFirst64KiBOfTheBodyAreSearched() throws Exception {
        FakeUpstream u = upstream();
        String filler = "x".repeat(ActiveHealthChecker.MAX_BODY_BYTES - 10);
        u.body = filler + "ALIVE";
        EndpointState s = local(u.port());
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        start(health, httpBody("/", "ALIVE", 1, 1, INTERVAL));
        await(() -> view(health, s).checkSuccesses() >= 2, () -> "passes");

        u.body = filler + "xxxxxxxxxxALIVE"; // starts at 64 KiB
        await(() -> s.health() == Health.DOWN, () -> "down");
        assertThat(s.downReason()).isEqualTo("health check: body does not contain \"ALIVE\"");
    }

    @Test
    void serverThatNeverAnswersTimesOutAndTheProbeIsClosed() throws Exception {
        FakeUpstream u = upstream();
        u.mode = FakeUpstream.Mode.HANG;
        EndpointState s = local(u.port());
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        long t0 = System.nanoTime();
        start(health, http("/", 1, 1, Duration.ofMillis(100), Duration.ofMillis(150)));

        await(() -> s.health() == Health.DOWN, () -> "down");

        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(150));
        assertThat(s.downReason()).isEqualTo("health check: timed out after 150ms");
        await(() -> u.closedByClient.get() >= 1, () -> "the timed-out probe connection is closed");
    }

    @Test
    void connectionRefusedGoesDown() throws Exception {
        EndpointState s = local(FakeUpstream.refusedPort());
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        start(health, http("/", 1, 2, INTERVAL, Duration.ofSeconds(1)));

        await(() -> s.health() == Health.DOWN, () -> "down");

        assertThat(s.downReason()).isEqualTo("health check: connection refused");
        assertThat(view(health, s).lastCheck()).isEqualTo("health check: connection refused");
    }

    @Test
    void tcpCheckFollowsTheListener() throws Exception {
        FakeUpstream u = upstream();
        EndpointState s = local(u.port());
        ClusterHealth health = new ClusterHealth("db", List.of(s));
        start(health, tcp(1, 2, INTERVAL));

        await(() -> view(health, s).checkSuccesses() >= 3, () -> "passes");
        assertThat(s.health()).isEqualTo(Health.UP);
        assertThat(u.requests).as("a TCP check sends nothing").isEmpty();

        u.close();
        await(() -> s.health() == Health.DOWN, () -> "down");
        assertThat(s.downReason()).isEqualTo("health check: connection refused");
        assertThat(view(health, s).checkFailures()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void jitterKeepsIntervalsWithinBounds() throws Exception {
        FakeUpstream u = upstream();
        EndpointState s = local(u.port());
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        Duration interval = Duration.ofMillis(60);
        double jitter = 0.5;
        ActiveHealthChecker checker = start(health, new ActiveCheck(ActiveCheck.Kind.HTTP, "/", Optional.empty(), 200,
                399, Optional.empty(), interval, Duration.ofSeconds(1), 1, 1, jitter));

        await(() -> u.acceptNanos.size() >= 11, () -> "11 checks");

        List<Long> t = List.copyOf(u.acceptNanos);
        long min = Long.MAX_VALUE;
        long max = 0;
        for (int i = 1; i < 11; i++) {
            long gap = t.get(i) - t.get(i - 1);
            min = Math.min(min, gap);
            max = Math.max(max, gap);
        }
        // Gaps are seen at the upstream, so each carries the difference of two connect latencies: on a loaded
        // machine that is tens of milliseconds either way. The exact bounds of the jitter are checked below.
        long lower = interval.toNanos() - TimeUnit.MILLISECONDS.toNanos(25);
        // The upper side also absorbs a loaded machine's scheduling delays (340 ms seen at load 10 on 2 cores); it
        // still catches a checker that stops or slows down by a multiple.
        long upper = (long) (interval.toNanos() * (1 + jitter)) + TimeUnit.MILLISECONDS.toNanos(1000);
        assertThat(min).as("shortest gap").isGreaterThanOrEqualTo(lower);
        assertThat(max).as("longest gap").isLessThanOrEqualTo(upper);
        assertThat(max - min).as("gaps vary").isGreaterThan(TimeUnit.MILLISECONDS.toNanos(3));

        long most = 0;
        for (int i = 0; i < 10_000; i++) {
            long j = checker.jitterNanos();
            assertThat(j).isBetween(0L, (long) (interval.toNanos() * jitter));
            most = Math.max(most, j);
        }
        assertThat(most).as("the jitter uses its range").isGreaterThan((long) (interval.toNanos() * jitter * 0.9));
    }

    @Test
    void closeStopsProbingClosesProbesInFlightAndWithdrawsItsVerdict() throws Exception {
        FakeUpstream u = upstream();
        u.mode = FakeUpstream.Mode.HANG;
        EndpointState s = local(u.port());
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        ActiveHealthChecker checker = start(health, http("/", 1, 1, INTERVAL, Duration.ofMillis(100)));
        await(() -> s.health() == Health.DOWN, () -> "down after a timeout");
        int before = u.closedByClient.get();
        await(() -> u.requests.size() > before + 1 && u.closedByClient.get() < u.requests.size(),
                () -> "a probe in flight");

        checker.close();

        await(() -> u.closedByClient.get() == u.requests.size(), () -> "the probe in flight is closed");
        int accepted = u.accepted.get();
        Thread.sleep(5 * INTERVAL.toMillis());
        assertThat(u.accepted.get()).as("no probe after close").isEqualTo(accepted);
        assertThat(s.health()).as("the verdict is withdrawn").isEqualTo(Health.UP);
        assertThat(health.snapshot().activeChecks()).isFalse();
        assertThat(view(health, s).check()).isEqualTo(HealthSnapshot.Check.OFF);
    }

    @Test
    void membershipChangesStartAndStopProbes() throws Exception {
        FakeUpstream a = upstream();
        FakeUpstream b = upstream();
        EndpointState sa = local(a.port());
        EndpointState sb = local(b.port());
        ClusterHealth health = new ClusterHealth("api", List.of(sa));
        ActiveHealthChecker checker = start(health, http("/", 1, 1, INTERVAL, Duration.ofSeconds(1)));
        await(() -> a.accepted.get() >= 2, () -> "a probed");
        assertThat(b.accepted.get()).isZero();

        health.updateEndpoints(List.of(sa, sb));
        await(() -> b.accepted.get() >= 2, () -> "b probed once it joined");
        assertThat(checker.probedEndpoints()).containsExactlyInAnyOrder(sa.endpoint().authority(),
                sb.endpoint().authority());

        health.updateEndpoints(List.of(sb));
        assertThat(checker.probedEndpoints()).containsExactly(sb.endpoint().authority());
        Thread.sleep(2 * INTERVAL.toMillis()); // a probe in flight at the removal may still land
        int aAccepted = a.accepted.get();
        int bAccepted = b.accepted.get();
        Thread.sleep(4 * INTERVAL.toMillis());
        assertThat(a.accepted.get()).as("a no longer probed").isEqualTo(aAccepted);
        assertThat(b.accepted.get()).isGreaterThan(bAccepted);
    }

    @Test
    void namesAreResolvedThroughTheResolverOffTheLoop() throws Exception {
        FakeUpstream u = upstream();
        AtomicReference<String> lookupThread = new AtomicReference<>();
        var executor = Executors.newSingleThreadExecutor(r -> new Thread(r, "blocking-dns"));
        closeables.add(executor::shutdownNow);
        ProbeResolver real = ProbeResolver.blocking(executor);
        ProbeResolver resolver = e -> {
            lookupThread.set(Thread.currentThread().getName());
            return real.resolve(e);
        };
        EndpointState s = new EndpointState(new Endpoint("localhost", u.port()), 1);
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        start(health, http("/", 1, 1, INTERVAL, Duration.ofSeconds(1)), resolver,
                ActiveHealthChecker.StartMode.ASSUME_UP);

        await(() -> view(health, s).checkSuccesses() >= 2, () -> "passes: " + view(health, s));
        assertThat(u.requests.getFirst().toLowerCase()).contains("host: localhost:" + u.port() + "\r\n");
        assertThat(lookupThread.get()).isNotNull();
    }

    @Test
    void lookupFailureGoesDown() throws Exception {
        ProbeResolver failing = e -> CompletableFuture.failedFuture(new UnknownHostException(e.host()));
        EndpointState s = new EndpointState(new Endpoint("no-such-host.invalid", 80), 1);
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        start(health, http("/", 1, 1, INTERVAL, Duration.ofSeconds(1)), failing,
                ActiveHealthChecker.StartMode.ASSUME_UP);

        await(() -> s.health() == Health.DOWN, () -> "down");
        assertThat(s.downReason()).isEqualTo("health check: unknown host no-such-host.invalid");
    }

    @Test
    void resolverThatNeverAnswersIsBoundedByTheTimeout() throws Exception {
        ProbeResolver stuck = e -> new CompletableFuture<InetSocketAddress>();
        EndpointState s = new EndpointState(new Endpoint("stuck.example", 80), 1);
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        start(health, http("/", 1, 1, INTERVAL, Duration.ofMillis(80)), stuck,
                ActiveHealthChecker.StartMode.ASSUME_UP);

        await(() -> s.health() == Health.DOWN, () -> "down");
        assertThat(s.downReason()).isEqualTo("health check: timed out after 80ms");
    }

    @Test
    void drainingAndForeignDownAreLeftAlone() throws Exception {
        EndpointState draining = local(FakeUpstream.refusedPort());
        FakeUpstream u = upstream();
        EndpointState maintenance = local(u.port());
        draining.markDraining();
        maintenance.markDown("maintenance");
        ClusterHealth health = new ClusterHealth("api", List.of(draining, maintenance));
        start(health, http("/", 1, 1, INTERVAL, Duration.ofSeconds(1)));

        await(() -> view(health, draining).checkFailures() >= 2 && view(health, maintenance).checkSuccesses() >= 2,
                () -> "checked");

        assertThat(draining.health()).isEqualTo(Health.DRAINING);
        assertThat(maintenance.health()).isEqualTo(Health.DOWN);
        assertThat(maintenance.downReason()).isEqualTo("maintenance");
    }

    @Test
    void rejectsInvalidChecks() {
        ClusterHealth health = new ClusterHealth("api", List.of());
        assertThatThrownBy(() -> new ActiveHealthChecker(health, http("/", 0, 1, INTERVAL, INTERVAL), group,
                NioSocketChannel.class, NO_DNS)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ActiveHealthChecker(health, http("/", 1, 1, Duration.ZERO, INTERVAL), group,
                NioSocketChannel.class, NO_DNS)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ActiveHealthChecker(health, new ActiveCheck(ActiveCheck.Kind.HTTP, "/",
                Optional.empty(), 400, 200, Optional.empty(), INTERVAL, INTERVAL, 1, 1, 0), group,
                NioSocketChannel.class, NO_DNS)).isInstanceOf(IllegalArgumentException.class);
    }
}
