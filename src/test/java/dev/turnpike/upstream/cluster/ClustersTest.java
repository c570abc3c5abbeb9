package dev.turnpike.upstream.cluster;

import dev.turnpike.config.ClusterConfig;
import dev.turnpike.config.HandlerConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static dev.turnpike.upstream.cluster.ClusterTesting.cluster;
import static dev.turnpike.upstream.cluster.ClusterTesting.tcp;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ClustersTest {

    private EventLoopGroup group;
    private ExecutorService blocking;

    @BeforeEach
    void setUp() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        blocking = Executors.newFixedThreadPool(1);
    }

    @AfterEach
    void tearDown() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        blocking.shutdownNow();
    }

    private static List<ClusterConfig> configs() {
        return List.of(
                cluster("stable", tcp("10.0.0.1", 80), tcp("10.0.0.2", 80)).build(),
                cluster("canary", tcp("10.0.1.1", 80)).build(),
                cluster("shadow", tcp("10.0.2.1", 80)).build());
    }

    @Test
    void buildsLooksUpAndClosesEveryCluster() {
        Clusters clusters = Clusters.build(configs(), group, NioSocketChannel.class, blocking);
        try (clusters) {
            clusters.start();
            assertThat(clusters.size()).isEqualTo(3);
            assertThat(clusters.all()).extracting(ClusterRuntime::name).containsExactly("stable", "canary", "shadow");
            assertThat(clusters.get("canary").endpoints()).hasSize(1);
            assertThat(clusters.get("nope")).isNull();
            assertThat(clusters.require("stable")).isSameAs(clusters.get("stable"));
            assertThatThrownBy(() -> clusters.require("nope")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("nope").hasMessageContaining("stable, canary, shadow");
        }
        assertThat(clusters.all()).allSatisfy(c -> assertThat(c.isClosed()).isTrue());
        assertThat(Clusters.EMPTY.size()).isZero();
    }

    @Test
    void splitAndMirrorResolveClusters() {
        try (Clusters clusters = Clusters.build(configs(), group, NioSocketChannel.class, blocking)) {
            WeightedSplit<ClusterRuntime> split = clusters.split(List.of(
                    new HandlerConfig.WeightedCluster("stable", 95), new HandlerConfig.WeightedCluster("canary", 5)));
            Map<String, Integer> counts = new HashMap<>();
            int n = 200_000;
            for (int i = 0; i < n; i++) {
                counts.merge(split.pick().name(), 1, Integer::sum);
            }
            assertThat(counts.get("canary") / (double) n).isCloseTo(0.05, within(0.004));
            assertThat(counts.get("stable") / (double) n).isCloseTo(0.95, within(0.004));
            assertThatThrownBy(() -> clusters.split(List.of(new HandlerConfig.WeightedCluster("gone", 1))))
                    .isInstanceOf(IllegalArgumentException.class);

            MirrorTarget mirror = clusters.mirror(new HandlerConfig.Mirror("shadow", 25));
            assertThat(mirror.cluster()).isSameAs(clusters.get("shadow"));
            int sampled = 0;
            for (int i = 0; i < n; i++) {
                sampled += mirror.sample() ? 1 : 0;
            }
            assertThat(sampled / (double) n).isCloseTo(0.25, within(0.01));
            MirrorTarget all = clusters.mirror(new HandlerConfig.Mirror("shadow", 100));
            for (int i = 0; i < 100; i++) {
                assertThat(all.sample()).isTrue();
            }
            assertThatThrownBy(() -> new MirrorTarget(clusters.get("shadow"), 0))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void aFailedBuildClosesWhatWasBuilt() {
        List<ClusterRuntime> built = new ArrayList<>();
        List<ClusterConfig> configs = new ArrayList<>(configs());
        configs.add(cluster("broken", tcp("10.0.3.1", 80)).lb("no_such_policy").build());
        assertThatThrownBy(() -> Clusters.build(configs, c -> {
            ClusterRuntime r = ClusterRuntime.build(c, group, NioSocketChannel.class, blocking);
            built.add(r);
            return r;
        })).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no_such_policy");
        assertThat(built).hasSize(3).allSatisfy(c -> assertThat(c.isClosed()).isTrue());

        List<ClusterConfig> twice = List.of(cluster("a", tcp("10.0.0.1", 80)).build(),
                cluster("a", tcp("10.0.0.2", 80)).build());
        assertThatThrownBy(() -> Clusters.build(twice, group, NioSocketChannel.class, blocking))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("defined twice");
    }
}
