package dev.turnpike.upstream.lb;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;

import static dev.turnpike.upstream.lb.LbTesting.endpoints;
import static dev.turnpike.upstream.lb.LbTesting.keyed;
import static org.assertj.core.api.Assertions.assertThat;

/** Picks from several threads at once, as from several event loops: nothing lost, nothing thrown. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ConcurrencyTest {
    static final List<String> ALL = LbTesting.ALL;
    private static final int THREADS = 8;
    private static final int PICKS = 24_000;

    /** Runs {@code body(thread)} on {@link #THREADS} threads started together. */
    private static void onThreads(ThreadBody body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    start.await();
                    body.run(thread);
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                f.get(20, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @FunctionalInterface
    interface ThreadBody {
        void run(int thread) throws Exception;
    }

    @ParameterizedTest
    @FieldSource("ALL")
    void countsAddUp(String policy) throws Exception {
        List<EndpointState> eps = endpoints(1, 2, 3, 4);
        ClusterBalancer cluster = new ClusterBalancer("c", policy, LbOptions.DEFAULTS, eps);
        AtomicLongArray counts = new AtomicLongArray(eps.size());
        onThreads(thread -> {
            for (int i = 0; i < PICKS; i++) {
                EndpointState e = cluster.pick(keyed(thread * PICKS + i)).endpoint();
                e.onRequestStart();
                counts.incrementAndGet(eps.indexOf(e));
                e.onRequestEnd(1000, (i & 15) == 0);
            }
        });
        long total = 0;
        for (int i = 0; i < eps.size(); i++) {
            total += counts.get(i);
            assertThat(eps.get(i).inFlight()).isZero();
            assertThat(eps.get(i).totalRequests()).isEqualTo(counts.get(i));
        }
        assertThat(total).isEqualTo((long) THREADS * PICKS);
    }

    @Test
    void sharedRoundRobinStaysExactUnderContention() throws Exception {
        List<EndpointState> eps = endpoints(1, 2, 3, 4); // a cycle of 10 picks
        LoadBalancer lb = LoadBalancers.create(RoundRobin.NAME, eps, LbOptions.DEFAULTS);
        AtomicLongArray counts = new AtomicLongArray(eps.size());
        onThreads(thread -> {
            for (int i = 0; i < 25_000; i++) {
                counts.incrementAndGet(eps.indexOf(lb.pickEndpoint(PickContext.EMPTY)));
            }
        });
        for (int i = 0; i < eps.size(); i++) { // 200k picks = 20k full cycles
            assertThat(counts.get(i)).isEqualTo(20_000L * (i + 1));
        }
    }

    @ParameterizedTest
    @FieldSource("ALL")
    void picksSurviveHealthFlapsAndMembershipChanges(String policy) throws Exception {
        List<EndpointState> eps = endpoints(1, 1, 1, 1, 1, 1);
        EndpointState anchor = eps.get(0); // always up: every pick must find something
        ClusterBalancer cluster = new ClusterBalancer("c", policy, LbOptions.DEFAULTS, eps);
        AtomicBoolean running = new AtomicBoolean(true);
        Thread flapper = new Thread(() -> {
            int k = 0;
            while (running.get()) {
                EndpointState e = eps.get(1 + k % 5);
                switch (k++ % 3) {
                    case 0 -> e.markDown("flap");
                    case 1 -> e.markDraining();
                    default -> e.markUp();
                }
                if (k % 50 == 0) {
                    cluster.updateEndpoints(k % 100 == 0 ? eps : eps.subList(0, 4));
                }
            }
        });
        flapper.start();
        try {
            onThreads(thread -> {
                for (int i = 0; i < PICKS / 2; i++) {
                    PickResult r = cluster.pick(keyed(i));
                    assertThat(r).isNotNull();
                    assertThat(r.panic()).isFalse();
                    assertThat(eps).contains(r.endpoint());
                }
            });
        } finally {
            running.set(false);
            flapper.join();
        }
        assertThat(anchor.isUp()).isTrue();
    }
}
