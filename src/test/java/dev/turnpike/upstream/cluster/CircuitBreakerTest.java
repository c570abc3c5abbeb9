package dev.turnpike.upstream.cluster;

import dev.turnpike.config.ClusterConfig;
import dev.turnpike.upstream.cluster.CircuitBreaker.Kind;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CircuitBreakerTest {

    @Test
    void eachLimitTripsOnItsOwn() {
        CircuitBreaker cb = CircuitBreaker.of(new ClusterConfig.Limits(1, 2, 3));
        assertThat(cb.tryAcquireRequest()).isTrue();
        assertThat(cb.tryAcquireRequest()).isTrue();
        assertThat(cb.tryAcquireRequest()).isTrue();
        assertThat(cb.tryAcquireRequest()).isFalse();
        assertThat(cb.tryAcquirePending()).isTrue();
        assertThat(cb.tryAcquirePending()).isTrue();
        assertThat(cb.tryAcquirePending()).isFalse();
        assertThat(cb.tryAcquireConnection()).isTrue();
        assertThat(cb.tryAcquireConnection()).isFalse();
        assertThat(cb.tryAcquireConnection()).isFalse();

        assertThat(cb.trips(Kind.REQUESTS)).isEqualTo(1);
        assertThat(cb.trips(Kind.PENDING)).isEqualTo(1);
        assertThat(cb.trips(Kind.CONNECTIONS)).isEqualTo(2);
        assertThat(cb.current(Kind.REQUESTS)).isEqualTo(3);
        assertThat(cb.current(Kind.PENDING)).isEqualTo(2);
        assertThat(cb.current(Kind.CONNECTIONS)).isEqualTo(1);
        assertThat(cb.limit(Kind.CONNECTIONS)).isEqualTo(1);

        cb.releaseRequest();
        cb.releasePending();
        cb.releaseConnection();
        assertThat(cb.tryAcquireRequest()).isTrue();
        assertThat(cb.tryAcquirePending()).isTrue();
        assertThat(cb.tryAcquireConnection()).isTrue();
        assertThat(cb.toString()).contains("requests 3/3", "pending 2/2", "connections 1/1");
    }

    @Test
    void zeroIsUnlimitedButStillCounted() {
        CircuitBreaker cb = CircuitBreaker.unlimited();
        for (int i = 0; i < 100_000; i++) {
            assertThat(cb.tryAcquireRequest()).isTrue();
        }
        assertThat(cb.current(Kind.REQUESTS)).isEqualTo(100_000);
        assertThat(cb.trips(Kind.REQUESTS)).isZero();
        assertThat(cb.toString()).contains("unlimited");
    }

    @Test
    void rejectsNegativeLimits() {
        assertThatThrownBy(() -> new CircuitBreaker(-1, 0, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void concurrentAcquiresNeverExceedTheLimits() throws Exception {
        CircuitBreaker cb = new CircuitBreaker(4, 8, 16);
        hammer(cb::tryAcquireRequest, cb::releaseRequest, 16);
        hammer(cb::tryAcquirePending, cb::releasePending, 8);
        hammer(cb::tryAcquireConnection, cb::releaseConnection, 4);
        for (Kind k : Kind.values()) {
            assertThat(cb.current(k)).as(k.name()).isZero();
        }
    }

    private static void hammer(BooleanSupplier acquire, Runnable release, int limit) throws Exception {
        AtomicInteger concurrent = new AtomicInteger();
        AtomicInteger max = new AtomicInteger();
        AtomicInteger granted = new AtomicInteger();
        int threads = Math.max(limit + 4, 2 * Runtime.getRuntime().availableProcessors());
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
                    if (acquire.getAsBoolean()) {
                        granted.incrementAndGet();
                        max.accumulateAndGet(concurrent.incrementAndGet(), Math::max);
                        for (int spin = 0; spin < 16; spin++) {
                            Thread.onSpinWait();
                        }
                        concurrent.decrementAndGet();
                        release.run();
                    }
                }
            }));
        }
        go.countDown();
        for (Thread w : workers) {
            w.join();
        }
        assertThat(max.get()).isLessThanOrEqualTo(limit);
        assertThat(granted.get()).isPositive();
    }
}
