package dev.turnpike.websocket;

import dev.turnpike.testing.TestServer;
import dev.turnpike.upstream.cluster.CircuitBreaker;

import java.util.concurrent.TimeUnit;

/** Assertions on a cluster's bookkeeping after WebSockets ended. */
final class ClusterCounts {
    private ClusterCounts() {
    }

    /** Nothing in flight, no request slot held, no long-lived connection counted on any endpoint. */
    static void assertSettled(TestServer s, String cluster) throws InterruptedException {
        var c = s.server().snapshot().clusters().require(cluster);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!(c.retryBudget().activeRequests() == 0
                && c.circuitBreaker().current(CircuitBreaker.Kind.REQUESTS) == 0
                && c.endpoints().stream().allMatch(e -> e.load() == 0))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("cluster " + cluster + " did not settle: "
                        + c.endpoints().stream().map(e -> e.endpoint() + " load " + e.load()).toList());
            }
            Thread.sleep(10);
        }
    }
}
