package dev.turnpike.upstream;

import io.netty.channel.EventLoop;

/**
 * The connections of one event loop to one {@link Endpoint}, as a proxied exchange uses them: take an idle
 * connection ({@link #pollIdle}) or ask for one ({@link #connect}), then give it back with
 * {@link UpstreamConnection#release} or {@link UpstreamConnection#close}. Confined to its loop: no locks, every
 * method must be called on {@link #eventLoop()}, and the connections it hands out live on that loop.
 *
 * <p>Two implementations: {@link Http1ConnectionPool} hands out whole HTTP/1.1 connections and keeps idle ones;
 * {@link Http2ConnectionPool} hands out HTTP/2 streams over a few shared connections, never reused. Either way the
 * {@link UpstreamConnection} speaks {@code HttpObject}s, so the user does not care which.
 */
public sealed interface ConnectionPool permits Http1ConnectionPool, Http2ConnectionPool {

    /** The outcome of {@link #connect}; called on the pool's loop. */
    interface ConnectCallback {
        void connected(UpstreamConnection connection);

        void connectFailed(Throwable cause);
    }

    EventLoop eventLoop();

    Endpoint endpoint();

    /** Connections open now (for HTTP/2 the shared connections, not the streams), idle or in use. */
    int openConnections();

    /** Connections open with nothing in flight. */
    int idleConnections();

    /** Requests waiting for a connection (or, for HTTP/2, for a stream) now. */
    int pendingRequests();

    boolean isClosed();

    /**
     * A live idle connection to use at once, or null: then call {@link #connect}. Always null for HTTP/2, where
     * {@code connect} opens a stream on a shared connection without another round trip.
     */
    UpstreamConnection pollIdle();

    /**
     * Gets a connection for one request; {@code callback} hears the outcome on this loop. At the pool's connection
     * limit the request waits (behind at most {@code maxPending} others, for at most {@code pendingTimeout}) and fails
     * with a {@link PoolExhaustedException} when it cannot; over the cluster's limits with a
     * {@link ClusterLimitException}.
     */
    void connect(ConnectCallback callback);

    /**
     * Closes the idle connections now and the others as their requests end; waiting requests fail. Called by
     * {@link ConnectionPools#close} on the pool's loop.
     */
    void close();
}
