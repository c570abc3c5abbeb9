package dev.turnpike.handler;

import dev.turnpike.metrics.Metrics;
import dev.turnpike.upstream.cluster.Clusters;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;

import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Runtime resources a handler may need when it is built.
 *
 * @param socketChannelClass client socket class matching the event loops' transport (for upstream connections,
 *                           which are made on the client connection's own event loop)
 * @param blockingExecutor   bounded pool for work that may block (file system calls); never the event loop
 * @param group              the server's event loops (cluster health checks and timers run there); null when the
 *                           context serves no clusters (some tests)
 * @param clusters           the upstream clusters of the snapshot being compiled ({@link Clusters#EMPTY} until
 *                           {@code Snapshot.compile} builds them)
 * @param metrics            the server's metrics (routes record into them; the metrics and dashboard handlers serve
 *                           them); null when the context serves no server (some tests)
 */
public record HandlerContext(Class<? extends SocketChannel> socketChannelClass, Executor blockingExecutor,
                             EventLoopGroup group, Clusters clusters, Metrics metrics) {

    public HandlerContext {
        Objects.requireNonNull(clusters, "clusters");
    }

    /** A context without event loops, clusters and metrics. */
    public HandlerContext(Class<? extends SocketChannel> socketChannelClass, Executor blockingExecutor) {
        this(socketChannelClass, blockingExecutor, null, Clusters.EMPTY, null);
    }

    /** This context for a snapshot whose clusters are {@code c}. */
    public HandlerContext withClusters(Clusters c) {
        return new HandlerContext(socketChannelClass, blockingExecutor, group, c, metrics);
    }
}
