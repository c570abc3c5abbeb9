package dev.turnpike.server;

import dev.turnpike.config.ListenerConfig;
import dev.turnpike.http.HttpServices;
import dev.turnpike.metrics.ListenerMetrics;
import dev.turnpike.tls.TlsListener;
import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.net.InetSocketAddress;
import java.util.function.Supplier;

/**
 * One bound listener: its server channel and its connections. A reload that keeps the address keeps the listener
 * (and its connections) and only swaps {@link #config}, which new connections read.
 */
final class Listener {
    /** What identifies a listener across reloads: its address, or its name for an ephemeral port. */
    final String key;
    volatile ListenerConfig config;
    final ConnectionLimiter.Counters counters;
    final ChannelGroup connections;
    /** The services of the current snapshot, before this listener's own wrapping (TLS, redirect to HTTPS). */
    final Supplier<HttpServices> base;
    /** What new connections serve ({@link #base} as wrapped for this listener); replaced by a reload. */
    volatile Supplier<HttpServices> services;
    /** TLS termination for new connections, or null for plain HTTP; replaced when a reload changes it. */
    volatile TlsListener tls;
    Channel channel;
    InetSocketAddress bound;

    Listener(ListenerConfig config, ListenerMetrics metrics, Supplier<HttpServices> base) {
        this.key = key(config);
        this.config = config;
        this.base = base;
        this.services = base;
        this.counters = new ConnectionLimiter.Counters(config.limits().maxConnections(),
                config.limits().maxConnectionsPerClient(), metrics);
        this.connections = new DefaultChannelGroup("listener " + config.name(), GlobalEventExecutor.INSTANCE);
    }

    /** As {@code ConfigDiff} names listeners: the address, or for port 0 (tests) the unique name. */
    static String key(ListenerConfig config) {
        return config.port() == 0 ? config.name() : config.address();
    }

    /** New connections get {@code next}'s limits, timeouts and sendfile choice; open ones keep theirs. */
    void update(ListenerConfig next) {
        config = next;
        counters.maxConnections = next.limits().maxConnections();
        counters.maxPerClient = next.limits().maxConnectionsPerClient();
    }
}
