package dev.turnpike.upstream.health;

import dev.turnpike.config.ClusterConfig.ActiveCheck;
import dev.turnpike.config.ClusterConfig.OutlierDetection;
import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.lb.EndpointSettings;
import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.Ticker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Helpers shared by the health tests. */
final class HealthTesting {

    private HealthTesting() {
    }

    /** A clock the test moves by hand. */
    static final class ManualTicker implements Ticker {
        private final AtomicLong now = new AtomicLong(1_000_000_000_000L);

        @Override
        public long nanoTime() {
            return now.get();
        }

        void advance(Duration d) {
            now.addAndGet(d.toNanos());
        }

        void advanceMillis(long ms) {
            now.addAndGet(ms * 1_000_000L);
        }
    }

    static ActiveCheck http(String path, int rise, int fall, Duration interval, Duration timeout) {
        return new ActiveCheck(ActiveCheck.Kind.HTTP, path, Optional.empty(), 200, 399, Optional.empty(), interval,
                timeout, rise, fall, 0.0);
    }

    static ActiveCheck httpBody(String path, String contains, int rise, int fall, Duration interval) {
        return new ActiveCheck(ActiveCheck.Kind.HTTP, path, Optional.empty(), 200, 399, Optional.of(contains),
                interval, Duration.ofSeconds(2), rise, fall, 0.0);
    }

    static ActiveCheck tcp(int rise, int fall, Duration interval) {
        return new ActiveCheck(ActiveCheck.Kind.TCP, "/", Optional.empty(), 200, 399, Optional.empty(), interval,
                Duration.ofSeconds(1), rise, fall, 0.0);
    }

    static OutlierDetection outlier(int c5xx, int cConnect, Duration base, Duration max, int percent) {
        return new OutlierDetection(c5xx, cConnect, base, max, percent);
    }

    static EndpointState local(int port) {
        return new EndpointState(new Endpoint("127.0.0.1", port), 1);
    }

    static EndpointState local(int port, EndpointSettings settings) {
        return new EndpointState(new Endpoint("127.0.0.1", port), 1, false, settings);
    }

    /** {@code n} endpoints on made-up addresses (never connected to). */
    static List<EndpointState> endpoints(int n, EndpointSettings settings) {
        List<EndpointState> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(new EndpointState(new Endpoint("10.0.0." + (i + 1), 8080), 1, false, settings));
        }
        return list;
    }

    /** Polls {@code condition} every few milliseconds until it holds; fails after {@code timeout}. */
    static void await(Duration timeout, BooleanSupplier condition, Supplier<String> describe) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout + " waiting: " + describe.get());
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted");
            }
        }
    }

    static void await(BooleanSupplier condition, Supplier<String> describe) {
        await(Duration.ofSeconds(5), condition, describe);
    }
}
