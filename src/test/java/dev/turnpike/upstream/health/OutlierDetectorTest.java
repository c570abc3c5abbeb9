package dev.turnpike.upstream.health;

import dev.turnpike.upstream.health.HealthTesting.ManualTicker;
import dev.turnpike.upstream.health.OutlierDetector.Outcome;
import dev.turnpike.upstream.lb.EndpointSettings;
import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.Health;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static dev.turnpike.upstream.health.HealthTesting.await;
import static dev.turnpike.upstream.health.HealthTesting.endpoints;
import static dev.turnpike.upstream.health.HealthTesting.outlier;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Passive outlier detection, driven by hand with a manual clock. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class OutlierDetectorTest {
    private static final Duration BASE = Duration.ofSeconds(10);

    private final ManualTicker ticker = new ManualTicker();
    private final EndpointSettings settings = EndpointSettings.DEFAULTS.withTicker(ticker)
            .withSlowStart(Duration.ofSeconds(30), 1.0, 0.1);

    private record Cluster(List<EndpointState> endpoints, ClusterHealth health, OutlierDetector detector) {
        EndpointState get(int i) {
            return endpoints.get(i);
        }

        HealthSnapshot.EndpointView view(int i) {
            return health.snapshot().find(endpoints.get(i).endpoint());
        }
    }

    private Cluster cluster(int n, int c5xx, int cConnect, Duration max, int percent) {
        List<EndpointState> eps = endpoints(n, settings);
        ClusterHealth health = new ClusterHealth("api", eps, ticker);
        return new Cluster(eps, health, new OutlierDetector(health, outlier(c5xx, cConnect, BASE, max, percent)));
    }

    private static void report(OutlierDetector d, EndpointState e, Outcome o, int times) {
        for (int i = 0; i < times; i++) {
            d.onResult(e, o);
        }
    }

    @Test
    void consecutive5xxEject() {
        Cluster c = cluster(4, 5, 0, Duration.ofMinutes(5), 50);
        EndpointState e = c.get(0);

        report(c.detector(), e, Outcome.HTTP_5XX, 4);
        assertThat(e.health()).isEqualTo(Health.UP);
        assertThat(c.view(0).consecutive5xx()).isEqualTo(4);

        c.detector().onResult(e, Outcome.HTTP_5XX);

        assertThat(e.health()).isEqualTo(Health.DOWN);
        assertThat(e.downReason()).isEqualTo("ejected: 5 consecutive 5xx responses");
        assertThat(c.detector().isEjected(e)).isTrue();
        HealthSnapshot.EndpointView v = c.view(0);
        assertThat(v.ejected()).isTrue();
        assertThat(v.ejectionRemaining()).isEqualTo(BASE);
        assertThat(v.ejectionCount()).isEqualTo(1);
        assertThat(v.reason()).isEqualTo("ejected: 5 consecutive 5xx responses");
        assertThat(c.get(1).health()).isEqualTo(Health.UP);
    }

    @Test
    void successResetsTheCounters() {
        Cluster c = cluster(4, 5, 3, Duration.ofMinutes(5), 50);
        EndpointState e = c.get(0);

        report(c.detector(), e, Outcome.HTTP_5XX, 4);
        c.detector().onResult(e, Outcome.SUCCESS);
        report(c.detector(), e, Outcome.HTTP_5XX, 4);
        assertThat(e.health()).isEqualTo(Health.UP);

        report(c.detector(), e, Outcome.CONNECT_FAILURE, 2);
        c.detector().onResult(e, Outcome.SUCCESS);
        report(c.detector(), e, Outcome.CONNECT_FAILURE, 2);
        assertThat(e.health()).isEqualTo(Health.UP);
        assertThat(c.view(0).consecutiveConnectFailures()).isEqualTo(2);
        assertThat(c.view(0).consecutive5xx()).isZero();

        c.detector().onResult(e, Outcome.HTTP_5XX); // a response: the connect worked
        assertThat(c.view(0).consecutiveConnectFailures()).isZero();
        report(c.detector(), e, Outcome.CONNECT_FAILURE, 3);
        assertThat(e.health()).isEqualTo(Health.DOWN);
        assertThat(e.downReason()).isEqualTo("ejected: 3 consecutive connect failures");
    }

    @Test
    void zeroThresholdTurnsARuleOff() {
        Cluster c = cluster(4, 0, 2, Duration.ofMinutes(5), 50);
        report(c.detector(), c.get(0), Outcome.HTTP_5XX, 100);
        assertThat(c.get(0).health()).isEqualTo(Health.UP);
    }

    @Test
    void restoredAfterTheEjectionTimeThroughSlowStart() {
        Cluster c = cluster(4, 5, 0, Duration.ofMinutes(5), 50);
        EndpointState e = c.get(0);
        report(c.detector(), e, Outcome.HTTP_5XX, 5);

        ticker.advance(BASE.minusMillis(1));
        assertThat(c.detector().sweep()).isZero();
        assertThat(e.health()).isEqualTo(Health.DOWN);
        assertThat(c.view(0).ejectionRemaining()).isEqualTo(Duration.ofMillis(1));

        ticker.advanceMillis(1);
        assertThat(c.detector().sweep()).isEqualTo(1);

        assertThat(e.health()).isEqualTo(Health.UP);
        assertThat(e.downReason()).isNull();
        assertThat(e.isWarming()).isTrue();
        assertThat(e.slowStartFactor()).isEqualTo(0.1);
        assertThat(c.view(0).consecutive5xx()).as("counters reset on return").isZero();
        assertThat(c.view(0).ejected()).isFalse();
    }

    @Test
    void ejectionTimeDoublesAndIsCapped() {
        Cluster c = cluster(4, 5, 0, Duration.ofSeconds(25), 50);
        EndpointState e = c.get(0);
        List<Duration> times = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            report(c.detector(), e, Outcome.HTTP_5XX, 5);
            assertThat(e.health()).isEqualTo(Health.DOWN);
            Duration t = c.view(0).ejectionRemaining();
            times.add(t);
            ticker.advance(t.minusMillis(1));
            c.detector().sweep();
            assertThat(e.health()).as("still ejected just before %s", t).isEqualTo(Health.DOWN);
            ticker.advanceMillis(1);
            c.detector().sweep();
            assertThat(e.health()).as("back after %s", t).isEqualTo(Health.UP);
        }
        assertThat(times).containsExactly(Duration.ofSeconds(10), Duration.ofSeconds(20), Duration.ofSeconds(25),
                Duration.ofSeconds(25));
        assertThat(c.view(0).totalEjections()).isEqualTo(4);
    }

    @Test
    void ejectionCountDecaysWhileHealthy() {
        Cluster c = cluster(4, 5, 0, Duration.ofMinutes(5), 50);
        EndpointState e = c.get(0);
        for (int i = 0; i < 3; i++) { // 10 s, 20 s, 40 s
            report(c.detector(), e, Outcome.HTTP_5XX, 5);
            ticker.advance(c.view(0).ejectionRemaining());
            c.detector().sweep();
        }
        assertThat(c.view(0).ejectionCount()).isEqualTo(3);

        ticker.advance(BASE.multipliedBy(2)); // two base periods up: two ejections forgotten
        assertThat(c.view(0).ejectionCount()).isEqualTo(1);

        report(c.detector(), e, Outcome.HTTP_5XX, 5);
        assertThat(c.view(0).ejectionRemaining()).isEqualTo(Duration.ofSeconds(20));
    }

    @Test
    void maxEjectionPercentIsRespected() {
        Cluster c = cluster(4, 5, 0, Duration.ofMinutes(5), 50);
        assertThat(c.detector().maxEjections()).isEqualTo(2);
        report(c.detector(), c.get(0), Outcome.HTTP_5XX, 5);
        ticker.advance(BASE.dividedBy(2));
        for (int i = 1; i < 4; i++) {
            report(c.detector(), c.get(i), Outcome.HTTP_5XX, 5);
        }
        assertThat(c.detector().ejectedCount()).isEqualTo(2);
        assertThat(c.get(1).health()).isEqualTo(Health.DOWN);
        assertThat(c.get(2).health()).isEqualTo(Health.UP);
        assertThat(c.get(3).health()).isEqualTo(Health.UP);

        // the first ejection ends: the next threshold's worth of failures of a still failing endpoint ejects it
        ticker.advance(BASE.dividedBy(2));
        assertThat(c.detector().sweep()).isEqualTo(1);
        report(c.detector(), c.get(2), Outcome.HTTP_5XX, 4);
        assertThat(c.get(2).health()).isEqualTo(Health.UP);
        c.detector().onResult(c.get(2), Outcome.HTTP_5XX); // its 10th in a row
        assertThat(c.get(2).health()).isEqualTo(Health.DOWN);
        assertThat(c.get(2).downReason()).isEqualTo("ejected: 10 consecutive 5xx responses");

        report(c.detector(), c.get(0), Outcome.HTTP_5XX, 5);
        report(c.detector(), c.get(3), Outcome.HTTP_5XX, 5);
        assertThat(c.get(0).health()).as("limit reached again").isEqualTo(Health.UP);
        assertThat(c.get(3).health()).isEqualTo(Health.UP);
        assertThat(c.detector().ejectedCount()).isEqualTo(2);
    }

    @Test
    void maxEjectionsRoundsDownButAllowsOne() {
        assertThat(cluster(3, 5, 0, BASE, 10).detector().maxEjections()).isEqualTo(1);
        assertThat(cluster(1, 5, 0, BASE, 10).detector().maxEjections()).isEqualTo(1);
        assertThat(cluster(10, 5, 0, BASE, 25).detector().maxEjections()).isEqualTo(2);
        assertThat(cluster(4, 5, 0, BASE, 100).detector().maxEjections()).isEqualTo(4);
        Cluster none = cluster(4, 5, 0, BASE, 0);
        assertThat(none.detector().maxEjections()).isZero();
        report(none.detector(), none.get(0), Outcome.HTTP_5XX, 50);
        assertThat(none.get(0).health()).isEqualTo(Health.UP);
    }

    @Test
    void activeDownIsNotLiftedByTheDetectorAndViceVersa() {
        Cluster c = cluster(4, 5, 0, Duration.ofMinutes(5), 50);
        EndpointState e = c.get(0);
        EndpointHealth h = c.health().find(e);

        // the active check holds it down (as ActiveHealthChecker does), then it is also ejected
        h.verdict = HealthSnapshot.Check.DOWN;
        h.activeReason = "health check: status 503 (expected 200-399)";
        c.health().apply(h, "failed its health check 3 times in a row");
        report(c.detector(), e, Outcome.HTTP_5XX, 5);
        assertThat(e.downReason()).isEqualTo(
                "health check: status 503 (expected 200-399); ejected: 5 consecutive 5xx responses");

        ticker.advance(BASE);
        c.detector().sweep();
        assertThat(e.health()).as("the ejection ended, the check still fails").isEqualTo(Health.DOWN);
        assertThat(e.downReason()).isEqualTo("health check: status 503 (expected 200-399)");

        // ejected again, then the check passes: still down until the ejection ends
        report(c.detector(), e, Outcome.HTTP_5XX, 5);
        h.verdict = HealthSnapshot.Check.UP;
        h.activeReason = null;
        c.health().apply(h, "passed its health check 2 times in a row");
        assertThat(e.health()).isEqualTo(Health.DOWN);
        assertThat(e.downReason()).isEqualTo("ejected: 5 consecutive 5xx responses");

        ticker.advance(BASE.multipliedBy(2));
        c.detector().sweep();
        assertThat(e.health()).isEqualTo(Health.UP);
    }

    @Test
    void downForSomeoneElsesReasonIsLeftAlone() {
        Cluster c = cluster(4, 5, 0, Duration.ofMinutes(5), 50);
        EndpointState e = c.get(0);
        report(c.detector(), e, Outcome.HTTP_5XX, 5);
        e.markDown("disabled by operator");

        ticker.advance(BASE);
        c.detector().sweep();

        assertThat(e.health()).isEqualTo(Health.DOWN);
        assertThat(e.downReason()).isEqualTo("disabled by operator");

        EndpointState d = c.get(1);
        d.markDraining();
        report(c.detector(), d, Outcome.HTTP_5XX, 5);
        assertThat(d.health()).isEqualTo(Health.DRAINING);
    }

    @Test
    void closeLiftsEjections() {
        Cluster c = cluster(4, 5, 0, Duration.ofMinutes(5), 50);
        report(c.detector(), c.get(0), Outcome.HTTP_5XX, 5);
        assertThat(c.health().snapshot().outlierDetection()).isTrue();

        c.detector().close();

        assertThat(c.get(0).health()).isEqualTo(Health.UP);
        assertThat(c.health().snapshot().outlierDetection()).isFalse();
        report(c.detector(), c.get(1), Outcome.HTTP_5XX, 5);
        assertThat(c.get(1).health()).isEqualTo(Health.UP);
    }

    @Test
    void resultsForNonMembersAreIgnoredAndMembershipFollowsTheCluster() {
        Cluster c = cluster(4, 5, 0, Duration.ofMinutes(5), 50);
        EndpointState gone = c.get(3);
        report(c.detector(), gone, Outcome.HTTP_5XX, 3);
        c.health().updateEndpoints(c.endpoints().subList(0, 3));
        report(c.detector(), gone, Outcome.HTTP_5XX, 10);
        assertThat(gone.health()).isEqualTo(Health.UP);
        assertThat(c.detector().maxEjections()).isEqualTo(1);

        EndpointState kept = c.get(0);
        report(c.detector(), kept, Outcome.HTTP_5XX, 3);
        c.health().updateEndpoints(List.of(c.get(1), kept)); // kept keeps its counters
        assertThat(c.health().snapshot().find(kept.endpoint()).consecutive5xx()).isEqualTo(3);
        assertThat(c.health().endpoints()).containsExactly(c.get(1), kept);
    }

    @Test
    void restoredOnTheTimerWithTheSystemClock() throws Exception {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        try {
            List<EndpointState> eps = endpoints(2, EndpointSettings.DEFAULTS);
            ClusterHealth health = new ClusterHealth("api", eps);
            OutlierDetector d = new OutlierDetector(health,
                    outlier(2, 0, Duration.ofMillis(50), Duration.ofSeconds(1), 50), timer);
            report(d, eps.get(0), Outcome.HTTP_5XX, 2);
            assertThat(eps.get(0).health()).isEqualTo(Health.DOWN);
            await(() -> eps.get(0).health() == Health.UP, () -> "restored by the timer");
            d.close();
        } finally {
            timer.shutdownNow();
        }
    }

    @Test
    void rejectsInvalidConfig() {
        ClusterHealth health = new ClusterHealth("api", List.of(), ticker);
        assertThatThrownBy(() -> new OutlierDetector(health, outlier(5, 0, Duration.ZERO, BASE, 10)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new OutlierDetector(health, outlier(5, 0, BASE, BASE, 101)))
                .isInstanceOf(IllegalArgumentException.class);
        new OutlierDetector(health, outlier(5, 0, BASE, BASE, 10));
        assertThatThrownBy(() -> new OutlierDetector(health, outlier(5, 0, BASE, BASE, 10)))
                .as("one detector per cluster").isInstanceOf(IllegalStateException.class);
    }

    @Test
    void concurrentResultsFromSeveralThreads() throws Exception {
        int threads = 8;
        Cluster c = cluster(4, 5, 5, Duration.ofMinutes(5), 50);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            // every endpoint fails from every thread: exactly two are ejected, each once
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < 20_000; i++) {
                        c.detector().onResult(c.get(i & 3), (i & 4) == 0 ? Outcome.HTTP_5XX
                                : Outcome.CONNECT_FAILURE);
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(10, TimeUnit.SECONDS);
            }
            assertThat(c.detector().ejectedCount()).isEqualTo(2);
            long ejections = c.health().snapshot().endpoints().stream()
                    .mapToLong(HealthSnapshot.EndpointView::totalEjections).sum();
            assertThat(ejections).isEqualTo(2);
            assertThat(c.endpoints().stream().filter(e -> e.health() == Health.DOWN).count()).isEqualTo(2);

            // a mix with successes, restores and sweeps racing: never more than two ejected, nothing thrown
            CountDownLatch go2 = new CountDownLatch(1);
            done.clear();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    go2.await();
                    ThreadLocalRandom r = ThreadLocalRandom.current();
                    for (int i = 0; i < 20_000; i++) {
                        if (thread == 0 && i % 500 == 0) {
                            ticker.advance(BASE.multipliedBy(40));
                            c.detector().sweep();
                        }
                        int x = r.nextInt(10);
                        Outcome o = x < 6 ? Outcome.HTTP_5XX : x < 8 ? Outcome.CONNECT_FAILURE : Outcome.SUCCESS;
                        c.detector().onResult(c.get(r.nextInt(4)), o);
                        assertThat(c.detector().ejectedCount()).isLessThanOrEqualTo(2);
                    }
                    return null;
                }));
            }
            go2.countDown();
            for (Future<?> f : done) {
                f.get(10, TimeUnit.SECONDS);
            }
            ticker.advance(Duration.ofHours(1));
            c.detector().sweep();
            assertThat(c.detector().ejectedCount()).isZero();
            assertThat(c.endpoints()).allMatch(e -> e.health() == Health.UP);
        } finally {
            pool.shutdownNow();
        }
    }
}
