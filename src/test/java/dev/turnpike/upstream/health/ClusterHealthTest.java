package dev.turnpike.upstream.health;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.turnpike.upstream.health.HealthTesting.ManualTicker;
import dev.turnpike.upstream.health.OutlierDetector.Outcome;
import dev.turnpike.upstream.lb.EndpointSettings;
import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.Health;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.turnpike.upstream.health.HealthTesting.await;
import static dev.turnpike.upstream.health.HealthTesting.endpoints;
import static dev.turnpike.upstream.health.HealthTesting.http;
import static dev.turnpike.upstream.health.HealthTesting.local;
import static dev.turnpike.upstream.health.HealthTesting.outlier;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Combining the two sources, the snapshot and the log. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class ClusterHealthTest {
    private final ManualTicker ticker = new ManualTicker();
    private final EndpointSettings settings = EndpointSettings.DEFAULTS.withTicker(ticker);

    @Test
    void snapshotReportsHealthReasonSinceAndCounters() {
        List<EndpointState> eps = endpoints(3, settings);
        ClusterHealth health = new ClusterHealth("api", eps, ticker);
        OutlierDetector d = new OutlierDetector(health,
                outlier(3, 2, Duration.ofSeconds(10), Duration.ofMinutes(1), 50));
        d.onResult(eps.get(0), Outcome.HTTP_5XX);
        d.onResult(eps.get(1), Outcome.CONNECT_FAILURE);
        d.onResult(eps.get(1), Outcome.CONNECT_FAILURE);
        ticker.advance(Duration.ofSeconds(4));

        Instant before = Instant.now();
        HealthSnapshot snap = health.snapshot();

        assertThat(snap.cluster()).isEqualTo("api");
        assertThat(snap.activeChecks()).isFalse();
        assertThat(snap.outlierDetection()).isTrue();
        assertThat(snap.endpoints()).hasSize(3);
        HealthSnapshot.EndpointView v0 = snap.endpoints().get(0);
        assertThat(v0.endpoint()).isEqualTo(eps.get(0).endpoint());
        assertThat(v0.health()).isEqualTo(Health.UP);
        assertThat(v0.reason()).isNull();
        assertThat(v0.consecutive5xx()).isEqualTo(1);
        assertThat(v0.check()).isEqualTo(HealthSnapshot.Check.OFF);
        HealthSnapshot.EndpointView v1 = snap.endpoints().get(1);
        assertThat(v1.health()).isEqualTo(Health.DOWN);
        assertThat(v1.reason()).isEqualTo("ejected: 2 consecutive connect failures");
        assertThat(v1.inStateFor()).isEqualTo(Duration.ofSeconds(4));
        assertThat(v1.since()).isBetween(before.minusSeconds(5), before.minusSeconds(3));
        assertThat(v1.ejected()).isTrue();
        assertThat(v1.ejectionRemaining()).isEqualTo(Duration.ofSeconds(6));
        assertThat(v1.ejectionCount()).isEqualTo(1);
        assertThat(v1.totalEjections()).isEqualTo(1);
        assertThat(snap.find(eps.get(2).endpoint()).consecutiveConnectFailures()).isZero();
    }

    @Test
    void everyHealthChangeIsLoggedOnOneLineWithClusterEndpointAndReason() {
        Logger logger = (Logger) LoggerFactory.getLogger(ClusterHealth.class);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        try {
            List<EndpointState> eps = endpoints(2, settings);
            ClusterHealth health = new ClusterHealth("payments", eps, ticker);
            OutlierDetector d = new OutlierDetector(health,
                    outlier(2, 0, Duration.ofSeconds(10), Duration.ofMinutes(1), 50));
            d.onResult(eps.get(0), Outcome.HTTP_5XX);
            d.onResult(eps.get(0), Outcome.HTTP_5XX);
            ticker.advance(Duration.ofSeconds(10));
            d.sweep();

            assertThat(appender.list).hasSize(2);
            ILoggingEvent down = appender.list.get(0);
            assertThat(down.getLevel()).isEqualTo(Level.WARN);
            assertThat(down.getFormattedMessage()).isEqualTo("cluster payments: endpoint 10.0.0.1:8080 was ejected"
                    + " for 10s (ejection 1) after 2 consecutive 5xx responses; now down: ejected: 2 consecutive 5xx"
                    + " responses");
            ILoggingEvent up = appender.list.get(1);
            assertThat(up.getLevel()).isEqualTo(Level.INFO);
            assertThat(up.getFormattedMessage()).isEqualTo(
                    "cluster payments: endpoint 10.0.0.1:8080 returned from ejection after 10s; now up");
        } finally {
            logger.detachAppender(appender);
        }
    }

    @Test
    void membershipKeepsRecordsOfStayingEndpointsAndRejectsDuplicates() {
        List<EndpointState> eps = endpoints(3, settings);
        ClusterHealth health = new ClusterHealth("api", eps, ticker);
        EndpointHealth first = health.find(eps.get(0));

        health.updateEndpoints(List.of(eps.get(2), eps.get(0)));

        assertThat(health.find(eps.get(0))).isSameAs(first);
        assertThat(health.find(eps.get(1))).isNull();
        assertThat(health.endpoints()).containsExactly(eps.get(2), eps.get(0));
        assertThatThrownBy(() -> health.updateEndpoints(List.of(eps.get(0), eps.get(0))))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void realCheckerAndDetectorCombine() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (FakeUpstream u = new FakeUpstream()) {
            EndpointState s = local(u.port(), settings);
            ClusterHealth health = new ClusterHealth("api", List.of(s), ticker);
            OutlierDetector d = new OutlierDetector(health,
                    outlier(3, 0, Duration.ofSeconds(10), Duration.ofMinutes(1), 100));
            try (ActiveHealthChecker checker = new ActiveHealthChecker(health,
                    http("/", 2, 2, Duration.ofMillis(50), Duration.ofSeconds(1)), group, NioSocketChannel.class,
                    e -> CompletableFuture.failedFuture(new AssertionError()))) {
                checker.start();
                await(() -> health.snapshot().endpoints().getFirst().checkSuccesses() >= 1, () -> "a pass");

                // ejected while the check passes: passing checks do not bring it back
                for (int i = 0; i < 3; i++) {
                    d.onResult(s, Outcome.HTTP_5XX);
                }
                assertThat(s.health()).isEqualTo(Health.DOWN);
                int passes = health.snapshot().endpoints().getFirst().checkSuccesses();
                await(() -> health.snapshot().endpoints().getFirst().checkSuccesses() >= passes + 3,
                        () -> "more passes");
                assertThat(s.health()).isEqualTo(Health.DOWN);
                assertThat(s.downReason()).isEqualTo("ejected: 3 consecutive 5xx responses");

                // the check fails too: both reasons; the ejection ends: still down for the check
                u.status = 503;
                await(() -> s.downReason().startsWith("health check: status 503"), () -> "check down");
                assertThat(s.downReason()).isEqualTo(
                        "health check: status 503 (expected 200-399); ejected: 3 consecutive 5xx responses");
                ticker.advance(Duration.ofSeconds(10));
                d.sweep();
                assertThat(s.health()).isEqualTo(Health.DOWN);
                assertThat(s.downReason()).isEqualTo("health check: status 503 (expected 200-399)");

                u.status = 200;
                await(() -> s.health() == Health.UP, () -> "up after rise passes");
            }
            d.close();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
