package dev.turnpike.upstream.cluster;

import dev.turnpike.config.ClusterConfig;
import dev.turnpike.config.HandlerConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * The clusters of one configuration snapshot, by name: built together ({@link #build}), started together
 * ({@link #start()}) and closed together ({@link #close()}) with the snapshot. Immutable after {@link #build}; lookups
 * are plain map reads. Handlers resolve their cluster, split and mirror once, when they are built
 * ({@link #require}, {@link #split}, {@link #mirror}), never per request.
 */
public final class Clusters implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Clusters.class);

    /** No clusters. */
    public static final Clusters EMPTY = new Clusters(Map.of());

    private final Map<String, ClusterRuntime> byName;

    private Clusters(Map<String, ClusterRuntime> byName) {
        this.byName = byName;
    }

    /**
     * Builds the runtime of every cluster (nothing runs until {@link #start()}). If one cannot be built, those
     * already built are closed and the exception is rethrown.
     *
     * @param group            the server's event loops
     * @param channelClass     the client socket class of their transport
     * @param blockingExecutor the server's blocking pool
     * @throws IllegalArgumentException for two clusters of the same name, or a cluster that cannot be built
     */
    public static Clusters build(List<ClusterConfig> configs, EventLoopGroup group,
                                 Class<? extends SocketChannel> channelClass, Executor blockingExecutor) {
        return build(configs, group, channelClass, blockingExecutor, EMPTY);
    }

    /**
     * As {@link #build(List, EventLoopGroup, Class, Executor)} for a reload: a cluster of {@code previous} whose
     * definition is unchanged is carried over ({@link ClusterRuntime#carryOver}) with its endpoints' health, its
     * health checks and its connection pools; the others are built anew.
     */
    public static Clusters build(List<ClusterConfig> configs, EventLoopGroup group,
                                 Class<? extends SocketChannel> channelClass, Executor blockingExecutor,
                                 Clusters previous) {
        return build(configs, c -> {
            ClusterRuntime before = previous.get(c.name());
            ClusterRuntime kept = before == null ? null : ClusterRuntime.carryOver(before, c);
            return kept != null ? kept : ClusterRuntime.build(c, group, channelClass, blockingExecutor);
        });
    }

    /** With a factory of runtimes (tests). */
    static Clusters build(List<ClusterConfig> configs, Function<ClusterConfig, ClusterRuntime> factory) {
        Map<String, ClusterRuntime> map = new LinkedHashMap<>();
        try {
            for (ClusterConfig c : configs) {
                if (map.containsKey(c.name())) {
                    throw new IllegalArgumentException("cluster '" + c.name() + "' is defined twice");
                }
                map.put(c.name(), factory.apply(c));
            }
        } catch (RuntimeException e) {
            closeAll(map.values());
            throw e;
        }
        return new Clusters(map);
    }

    /** Starts every cluster's active health checks. */
    public void start() {
        for (ClusterRuntime c : byName.values()) {
            c.start();
        }
    }

    /** The cluster named {@code name}, or null. */
    public ClusterRuntime get(String name) {
        return byName.get(name);
    }

    /**
     * The cluster named {@code name}.
     *
     * @throws IllegalArgumentException when there is none (the configuration loader prevents it)
     */
    public ClusterRuntime require(String name) {
        ClusterRuntime c = byName.get(Objects.requireNonNull(name, "name"));
        if (c == null) {
            throw new IllegalArgumentException("unknown cluster '" + name + "'; defined: "
                    + String.join(", ", byName.keySet()));
        }
        return c;
    }

    /** The weighted split over the legs of a route's {@code split}. */
    public WeightedSplit<ClusterRuntime> split(List<HandlerConfig.WeightedCluster> legs) {
        List<WeightedSplit.Leg<ClusterRuntime>> out = new ArrayList<>(legs.size());
        for (HandlerConfig.WeightedCluster leg : legs) {
            out.add(new WeightedSplit.Leg<>(require(leg.cluster()), leg.weight()));
        }
        return new WeightedSplit<>(out);
    }

    /** The shadow cluster and share of a route's {@code mirror}. */
    public MirrorTarget mirror(HandlerConfig.Mirror mirror) {
        return new MirrorTarget(require(mirror.cluster()), mirror.percent());
    }

    /** Every cluster, in configuration order. */
    public Collection<ClusterRuntime> all() {
        return byName.values();
    }

    public int size() {
        return byName.size();
    }

    /** Closes every cluster (stops health checks and outlier detection). Idempotent. */
    @Override
    public void close() {
        closeAll(byName.values());
    }

    private static void closeAll(Collection<ClusterRuntime> clusters) {
        for (ClusterRuntime c : clusters) {
            try {
                c.close();
            } catch (RuntimeException e) {
                LOG.warn("closing cluster {} failed", c.name(), e);
            }
        }
    }

    @Override
    public String toString() {
        return "Clusters" + byName.keySet();
    }
}
