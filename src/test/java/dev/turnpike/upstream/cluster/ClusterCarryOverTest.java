package dev.turnpike.upstream.cluster;

import dev.turnpike.config.ClusterConfig;
import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.Health;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static dev.turnpike.upstream.cluster.ClusterTesting.cluster;
import static dev.turnpike.upstream.cluster.ClusterTesting.httpCheck;
import static dev.turnpike.upstream.cluster.ClusterTesting.tcp;
import static org.assertj.core.api.Assertions.assertThat;

/** A reload carries a cluster over when its definition is unchanged: endpoints, health, checks and pools. */
class ClusterCarryOverTest {
    private EventLoopGroup group;
    private ExecutorService blocking;

    @BeforeEach
    void setUp() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        blocking = Executors.newFixedThreadPool(2);
    }

    @AfterEach
    void tearDown() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        blocking.shutdownNow();
    }

    private ClusterRuntime build(ClusterConfig c) {
        return ClusterRuntime.build(c, group, NioSocketChannel.class, blocking);
    }

    @Test
    void retriesAndRequestTimeoutsChangeWithoutTouchingTheRest() {
        ClusterRuntime before = build(cluster("app", tcp("127.0.0.1", 3000)).retries(1, Set.of("reset")).build());
        EndpointState e = before.endpoints().getFirst();
        before.drain(e);

        ClusterTesting.Builder next = cluster("app", tcp("127.0.0.1", 3000)).retries(3, Set.of("reset", "timeout"));
        next.timeouts = new ClusterConfig.Timeouts(ClusterConfig.Timeouts.defaults().connect(), Duration.ofSeconds(1),
                Duration.ofSeconds(2), Duration.ofSeconds(3), Duration.ofSeconds(4));
        ClusterRuntime after = ClusterRuntime.carryOver(before, next.build());

        assertThat(after).isNotNull().isNotSameAs(before);
        assertThat(after.endpoints()).isSameAs(before.endpoints());
        assertThat(after.pools()).isSameAs(before.pools());
        assertThat(after.balancer()).isSameAs(before.balancer());
        assertThat(after.circuitBreaker()).isSameAs(before.circuitBreaker());
        assertThat(after.endpoints().getFirst().health()).as("an operator's drain survives").isEqualTo(Health.DRAINING);
        assertThat(after.retryPolicy().maxRetries()).isEqualTo(3);
        assertThat(after.timeouts().idleNanos()).isEqualTo(Duration.ofSeconds(3).toNanos());

        before.close();
        assertThat(before.isClosed()).isTrue();
        assertThat(after.isClosed()).isFalse();
        assertThat(after.balancer().pick(new dev.turnpike.upstream.lb.BasicPickContext())).as("drained").isNull();
        assertThat(after.enable(after.endpoints().getFirst())).isTrue();
        assertThat(after.balancer().pick(new dev.turnpike.upstream.lb.BasicPickContext())).isNotNull();
        after.close();
    }

    @Test
    void anotherDefinitionIsBuiltAnew() {
        ClusterRuntime before = build(cluster("app", tcp("127.0.0.1", 3000)).build());
        for (ClusterConfig next : List.of(
                cluster("app", tcp("127.0.0.1", 3001)).build(),
                cluster("app", tcp("127.0.0.1", 3000)).lb("least_connections").build(),
                cluster("app", tcp("127.0.0.1", 3000)).active(httpCheck(Duration.ofSeconds(5), 1, 1)).build(),
                cluster("app", tcp("127.0.0.1", 3000)).limits(10, 0, 0).build(),
                cluster("other", tcp("127.0.0.1", 3000)).build())) {
            assertThat(ClusterRuntime.carryOver(before, next)).as(next.toString()).isNull();
        }
        before.close();
        assertThat(ClusterRuntime.carryOver(before, cluster("app", tcp("127.0.0.1", 3000)).build()))
                .as("a closed runtime is not carried over").isNull();
    }
}
