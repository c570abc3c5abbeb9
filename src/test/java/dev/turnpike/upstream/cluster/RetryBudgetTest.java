package dev.turnpike.upstream.cluster;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RetryBudgetTest {

    @Test
    void aRetryStormIsCappedAtTheBudget() {
        RetryBudget b = new RetryBudget(20, 3);
        for (int i = 0; i < 100; i++) {
            b.onRequestStart();
        }
        int granted = 0;
        for (int i = 0; i < 100; i++) { // every request wants to retry at once
            if (b.tryAcquireRetry()) {
                granted++;
            }
        }
        assertThat(granted).isEqualTo(20);
        assertThat(b.retriesInFlight()).isEqualTo(20);
        assertThat(b.exhausted()).isEqualTo(80);
        b.releaseRetry();
        assertThat(b.tryAcquireRetry()).as("a released slot can be taken again").isTrue();
        assertThat(b.tryAcquireRetry()).isFalse();
    }

    @Test
    void aQuietClusterMayStillRetryMinTimes() {
        RetryBudget b = new RetryBudget(20, 3);
        b.onRequestStart(); // 20% of 1 request is 0 retries: the minimum applies
        assertThat(b.limit()).isEqualTo(3);
        assertThat(b.tryAcquireRetry()).isTrue();
        assertThat(b.tryAcquireRetry()).isTrue();
        assertThat(b.tryAcquireRetry()).isTrue();
        assertThat(b.tryAcquireRetry()).isFalse();
        b.releaseRetry();
        b.releaseRetry();
        b.releaseRetry();
        assertThat(b.retriesInFlight()).isZero();
        b.onRequestEnd();
        assertThat(b.activeRequests()).isZero();
    }

    @Test
    void theBudgetFollowsTheLoad() {
        RetryBudget b = new RetryBudget(50, 0);
        assertThat(b.tryAcquireRetry()).as("no load, no minimum: no retry").isFalse();
        for (int i = 0; i < 10; i++) {
            b.onRequestStart();
        }
        assertThat(b.limit()).isEqualTo(5);
        for (int i = 0; i < 5; i++) {
            assertThat(b.tryAcquireRetry()).isTrue();
        }
        assertThat(b.tryAcquireRetry()).isFalse();
        for (int i = 0; i < 6; i++) {
            b.onRequestEnd();
        }
        assertThat(b.limit()).isEqualTo(2);
        b.releaseRetry();
        assertThat(b.tryAcquireRetry()).as("4 in flight over a limit of 2").isFalse();
    }

    @Test
    void zeroBudgetAndZeroMinimumNeverRetry() {
        RetryBudget b = new RetryBudget(0, 0);
        for (int i = 0; i < 1000; i++) {
            b.onRequestStart();
        }
        assertThat(b.tryAcquireRetry()).isFalse();
    }

    @Test
    void rejectsBadSettings() {
        assertThatThrownBy(() -> new RetryBudget(101, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RetryBudget(-1, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RetryBudget(20, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void concurrentRetriesNeverExceedTheBudget() throws Exception {
        RetryBudget b = new RetryBudget(20, 3);
        for (int i = 0; i < 100; i++) {
            b.onRequestStart();
        }
        AtomicInteger concurrent = new AtomicInteger();
        AtomicInteger max = new AtomicInteger();
        AtomicInteger granted = new AtomicInteger();
        int threads = 8;
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 20_000; i++) {
                    if (b.tryAcquireRetry()) {
                        granted.incrementAndGet();
                        int now = concurrent.incrementAndGet();
                        max.accumulateAndGet(now, Math::max);
                        concurrent.decrementAndGet();
                        b.releaseRetry();
                    }
                }
            }));
        }
        go.countDown();
        for (Thread w : workers) {
            w.join();
        }
        assertThat(max.get()).isLessThanOrEqualTo(20);
        assertThat(granted.get()).isPositive();
        assertThat(b.retriesInFlight()).isZero();
    }
}
