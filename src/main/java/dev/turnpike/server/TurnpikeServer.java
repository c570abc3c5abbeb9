package dev.turnpike.server;

import dev.turnpike.accesslog.AccessLog;
import dev.turnpike.admin.AdminApi;
import dev.turnpike.admin.AdminRoutes;
import dev.turnpike.admin.AdminTarget;
import dev.turnpike.config.AdminConfig;
import dev.turnpike.config.ConfigDiff;
import dev.turnpike.config.ConfigTree;
import dev.turnpike.config.Durations;
import dev.turnpike.config.ListenerConfig;
import dev.turnpike.config.ServerSettings;
import dev.turnpike.config.TurnpikeConfig;
import dev.turnpike.handler.HandlerContext;
import dev.turnpike.metrics.ListenerMetrics;
import dev.turnpike.metrics.Metrics;
import dev.turnpike.metrics.web.DashboardHandler;
import dev.turnpike.metrics.web.MetricsHandler;
import dev.turnpike.http.ErrorResponder;
import dev.turnpike.http.Exchange;
import dev.turnpike.logging.ServerLog;
import dev.turnpike.reload.ConfigSource;
import dev.turnpike.reload.ConfigWatcher;
import dev.turnpike.reload.ReloadException;
import dev.turnpike.reload.ReloadResult;
import dev.turnpike.reload.Reloader;
import dev.turnpike.upstream.cluster.Clusters;
import dev.turnpike.http.HttpServices;
import dev.turnpike.http1.Http1ServerHandler;
import dev.turnpike.http2.Http2ServerConnection;
import dev.turnpike.http2.Http2ServerSupport;
import dev.turnpike.tls.Http2Hook;
import dev.turnpike.tls.HttpsRedirect;
import dev.turnpike.tls.TlsListener;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.AsciiString;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A running Turnpike: event loops, listeners, the admin listener and the current configuration snapshot. Everything
 * is validated and compiled before the first socket is bound; a failure to bind closes what was opened.
 *
 * <p>Reload ({@link #reload(String)}, or {@link #apply} with a configuration in hand) changes what is served without
 * losing a request: the new snapshot is compiled (clusters whose definition is unchanged carried over with their
 * health and connection pools), new listeners are bound, and only then does the snapshot swap; an exchange keeps the
 * snapshot it started on, which closes when its last exchange is over. Listeners at the same address stay open with
 * their connections; removed ones stop accepting and their connections are drained. Exchanges still running on a
 * route that changed or went away are closed after {@code server.reload_grace}.
 */
public final class TurnpikeServer implements AutoCloseable, AdminTarget {
    private static final Logger LOG = LoggerFactory.getLogger(TurnpikeServer.class);
    /** The admin listener's bounds: it serves operators, not traffic. */
    private static final ListenerConfig.Limits ADMIN_LIMITS = new ListenerConfig.Limits(8 * 1024, 32 * 1024, 100,
            1024 * 1024, 256, 0);

    private final Transport transport;
    private final EventLoopGroup group;
    private final ExecutorService blockingExecutor;
    private final ByteBufAllocator allocator;
    private final HandlerFactory handlers;
    /**
     * One thread for what changes the server while it runs: reloads (one at a time, in order), the configuration
     * watch, the grace period of routes a reload changed, closing retired snapshots. Never an event loop.
     */
    private final ScheduledExecutorService control;
    private final Reloader reloader;
    private final AdminRoutes adminRoutes = new AdminRoutes();
    private final AtomicReference<Snapshot> snapshot = new AtomicReference<>();
    /** Client connections of every listener (admin connections are apart). */
    private final ChannelGroup connections = new DefaultChannelGroup("connections", GlobalEventExecutor.INSTANCE);
    private final ChannelGroup adminConnections = new DefaultChannelGroup("admin", GlobalEventExecutor.INSTANCE);
    /**
     * By {@link Listener#key}, in configuration order; replaced whole (under this) and read without a lock, since
     * the admin API reads it on an event loop while a reload may hold the lock.
     */
    private volatile Map<String, Listener> listeners = Map.of();
    /** Changed under this, read without a lock; null when the admin API is off. */
    private volatile Listener admin;
    private volatile HttpServices adminServices;
    /** Snapshots a reload replaced whose exchanges are still running. Guarded by this. */
    private final List<Snapshot> retiring = new ArrayList<>();
    /** Guarded by this. */
    private ConfigWatcher watcher;
    private volatile Duration shutdownTimeout;
    /** HTTP/2 for TLS connections whose client picked {@code h2} by ALPN. */
    static final Http2Hook HTTP2_OVER_TLS = (ch, services, listener) ->
            Http2ServerSupport.install(ch, services, listener, "https");
    /** How TLS connections that choose h2 by ALPN continue; null offers HTTP/1.1 only. */
    private Http2Hook http2 = HTTP2_OVER_TLS;
    private final Metrics metrics;
    private boolean stopped;
    /** Set when shutdown begins: a connection accepted after the drain sweep is closed at once. */
    private volatile boolean draining;

    private TurnpikeServer(TurnpikeConfig config, HandlerFactory handlers, ConfigSource source) {
        ServerSettings s = config.server();
        this.handlers = handlers;
        this.transport = Transport.select(s.transport());
        int loops = s.eventLoops() > 0 ? s.eventLoops() : Runtime.getRuntime().availableProcessors();
        this.group = new MultiThreadIoEventLoopGroup(loops, new DefaultThreadFactory("turnpike-io", true),
                transport.ioHandlerFactory());
        // Bounded both ways; when full, work is refused (callers answer 503) rather than run on an event loop.
        int blockingThreads = Math.max(4, loops * 2);
        this.blockingExecutor = new ThreadPoolExecutor(blockingThreads, blockingThreads, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(4096), new DefaultThreadFactory("turnpike-blocking", true),
                new ThreadPoolExecutor.AbortPolicy());
        ((ThreadPoolExecutor) blockingExecutor).allowCoreThreadTimeOut(true);
        this.control = Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("turnpike-control", true));
        this.reloader = new Reloader(source, this::apply, control);
        this.allocator = switch (s.allocator()) {
            case POOLED -> PooledByteBufAllocator.DEFAULT;
            case ADAPTIVE -> new AdaptiveByteBufAllocator();
            case UNPOOLED -> UnpooledByteBufAllocator.DEFAULT;
        };
        this.shutdownTimeout = s.shutdownTimeout();
        this.metrics = new Metrics(allocator, () -> {
            Snapshot current = snapshot.get();
            return current != null ? current.clusters() : Clusters.EMPTY;
        });
        for (ListenerConfig l : config.listeners()) {
            metrics.listener(l.name()); // known before the routes' meters size their tables by listener
        }
        defaultLeakDetection();
        AdminApi.install(adminRoutes, this);
        adminRoutes.register("/metrics", new MetricsHandler(metrics, blockingExecutor));
        adminRoutes.registerTree("/dashboard", new DashboardHandler(metrics));
        LOG.info("starting: transport={} event_loops={} allocator={} java={} jvm_flags={} leak_detection={}",
                transport.name(), loops, s.allocator().name().toLowerCase(Locale.ROOT), Runtime.version(),
                relevantJvmFlags(), ResourceLeakDetector.getLevel().name().toLowerCase(Locale.ROOT));
    }

    /** Compiles {@code config}, binds every listener and returns the running server. */
    public static TurnpikeServer start(TurnpikeConfig config) throws ServerStartException {
        return start(config, HandlerFactory.DEFAULT);
    }

    /** As {@link #start(TurnpikeConfig)}, with route handlers built by {@code handlers}. */
    public static TurnpikeServer start(TurnpikeConfig config, HandlerFactory handlers) throws ServerStartException {
        return start(config, handlers, ConfigSource.NONE);
    }

    /**
     * As {@link #start(TurnpikeConfig, HandlerFactory)}, reloading from {@code source} when asked ({@link #reload},
     * SIGHUP, the admin API, {@code server.watch_config}).
     */
    public static TurnpikeServer start(TurnpikeConfig config, HandlerFactory handlers, ConfigSource source)
            throws ServerStartException {
        return start(config, handlers, source, HTTP2_OVER_TLS);
    }

    /**
     * As {@link #start(TurnpikeConfig, HandlerFactory)}; TLS listeners offer {@code h2} by ALPN and hand connections
     * that choose it to {@code http2} (null: HTTP/1.1 only).
     */
    public static TurnpikeServer start(TurnpikeConfig config, HandlerFactory handlers, Http2Hook http2)
            throws ServerStartException {
        return start(config, handlers, ConfigSource.NONE, http2);
    }

    private static TurnpikeServer start(TurnpikeConfig config, HandlerFactory handlers, ConfigSource source,
                                        Http2Hook http2) throws ServerStartException {
        TurnpikeServer server = new TurnpikeServer(config, handlers, source);
        server.http2 = http2;
        // Every certificate is loaded before the first port opens: a TLS problem starts nothing.
        Map<ListenerConfig, TlsListener> tls = new java.util.IdentityHashMap<>();
        try {
            server.snapshot.set(Snapshot.compile(config, server.handlerContext(), handlers));
            synchronized (server) {
                for (ListenerConfig listener : config.listeners()) {
                    if (listener.tls().isPresent()) {
                        tls.put(listener, server.startTls(listener));
                    }
                }
                Map<String, Listener> bound = new LinkedHashMap<>();
                for (ListenerConfig listener : config.listeners()) {
                    Listener l = server.bind(listener, tls.get(listener));
                    bound.put(l.key, l);
                    // Published at once, so that close() after a later failure unbinds those already bound.
                    server.listeners = Collections.unmodifiableMap(new LinkedHashMap<>(bound));
                }
                server.adminServices = server.adminServices(config);
                server.adminRoutes.token(config.admin().token());
                if (config.admin().enabled()) {
                    server.admin = server.bindAdmin(config.admin());
                }
                server.settings(config);
            }
            return server;
        } catch (ServerStartException e) {
            tls.values().forEach(TlsListener::close);
            server.close();
            throw e;
        } catch (RuntimeException e) {
            tls.values().forEach(TlsListener::close);
            server.close();
            throw new ServerStartException("could not start: " + e.getMessage(), e);
        }
    }

    public HandlerContext handlerContext() {
        return new HandlerContext(transport.socketChannelClass(), blockingExecutor, group, Clusters.EMPTY, metrics);
    }

    // ------------------------------------------------------------------------------------------ listeners

    private ServerBootstrap bootstrap() {
        return new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannelClass())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.ALLOCATOR, allocator)
                .childOption(ChannelOption.ALLOCATOR, allocator)
                // No TCP_NODELAY here: Netty's socket configs (epoll and NIO) already set it on every accepted
                // socket, and setting it again costs a system call per connection.
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 64 * 1024));
    }

    /** Binds {@code config}, terminating TLS with {@code tls} (started beforehand, or null for plain HTTP). */
    private Listener bind(ListenerConfig config, TlsListener tls) throws ServerStartException {
        Listener l = listen(config, metrics.listener(config.name()), connections, this::services, tls, false,
                "cannot listen on " + config.address() + " (" + config.position() + ")");
        String scheme = tls != null ? "https" : "http";
        LOG.atInfo().addKeyValue("event", "listener_up").addKeyValue("listener", config.name())
                .addKeyValue("address", url(scheme, l.bound))
                .log("listener {} up on {}", config.name(), url(scheme, l.bound));
        return l;
    }

    private TlsListener startTls(ListenerConfig listener) throws ServerStartException {
        try {
            return TlsListener.start(listener, listener.http2().enabled() ? http2 : null, group, blockingExecutor);
        } catch (IllegalStateException e) {
            throw new ServerStartException(e.getMessage(), e);
        }
    }

    /**
     * What {@code l}'s connections serve: the snapshot's services, wrapped for TLS (HSTS, client certificates) or
     * answered with a redirect to HTTPS on a plain listener that asks for it. Recomputed when a reload changes it.
     */
    private void refreshServices(Listener l) {
        ListenerConfig c = l.config;
        TlsListener t = l.tls;
        if (t != null) {
            l.services = t.services(l.base);
        } else if (c.redirectToHttps().isPresent()) {
            ListenerConfig.HttpsRedirect r = c.redirectToHttps().get();
            l.services = HttpsRedirect.services(l.base,
                    r.port() > 0 ? () -> r.port() : () -> boundPort(r.listener(), 443));
        } else {
            l.services = l.base;
        }
    }

    /** The port listener {@code name} is bound to now (redirects name "the HTTPS listener"), else {@code fallback}. */
    private int boundPort(String name, int fallback) {
        for (Listener l : listeners.values()) {
            if (l.config.name().equals(name) && l.bound != null) {
                return l.bound.getPort();
            }
        }
        return fallback;
    }

    private Listener bindAdmin(AdminConfig config) throws ServerStartException {
        ListenerConfig lc = new ListenerConfig("admin", config.host(), config.port(), ADMIN_LIMITS,
                ListenerConfig.Timeouts.defaults(), false, config.position());
        Listener l = listen(lc, ListenerMetrics.NONE, adminConnections, () -> adminServices, null, true,
                "cannot listen on " + config.address() + " for the admin API (" + config.position() + ")");
        LOG.atInfo().addKeyValue("event", "admin_up").addKeyValue("address", url("http", l.bound))
                .addKeyValue("token", config.token().isPresent())
                .log("admin API up on {}{}", url("http", l.bound),
                        config.token().isPresent() ? " (token required)" : "");
        return l;
    }

    /**
     * Binds a listener whose connections join {@code group} and serve {@code services}. The admin listener keeps
     * accepting while the server drains, so that readiness can say so.
     */
    private Listener listen(ListenerConfig config, ListenerMetrics listenerMetrics, ChannelGroup group,
                            Supplier<HttpServices> services, TlsListener tls, boolean acceptWhileDraining,
                            String what) throws ServerStartException {
        Listener l = new Listener(config, listenerMetrics, services);
        l.tls = tls;
        refreshServices(l);
        ServerBootstrap b = bootstrap().childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                group.add(ch);
                l.connections.add(ch);
                ch.attr(ListenerMetrics.KEY).set(listenerMetrics);
                if (draining && !acceptWhileDraining) {
                    ch.close();
                    return;
                }
                // Read per connection: a reload that changed this listener's settings applies to new connections.
                ListenerConfig c = l.config;
                TlsListener t = l.tls;
                Supplier<HttpServices> s = l.services;
                ch.pipeline().addLast("limiter", new ConnectionLimiter(l.counters));
                if (t != null) {
                    t.initChannel(ch, s);
                } else if (c.http2().enabled()) {
                    Http2ServerSupport.installCleartext(ch, s, c, c.sendfile());
                } else {
                    Http1ServerHandler.install(ch, s, c, "http", c.sendfile());
                }
            }
        });
        bindChannel(l, b, what);
        return l;
    }

    private static void bindChannel(Listener l, ServerBootstrap b, String what) throws ServerStartException {
        InetSocketAddress address = new InetSocketAddress(l.config.host(), l.config.port());
        try {
            l.channel = b.bind(address).sync().channel();
            l.bound = (InetSocketAddress) l.channel.localAddress();
        } catch (Exception e) {
            throw new ServerStartException(what + ": " + describe(e), e);
        }
    }

    /** The admin listener's services: its routes, no access log, the configuration's response headers. */
    private HttpServices adminServices(TurnpikeConfig config) {
        ServerSettings s = config.server();
        return new HttpServices(adminRoutes, new ErrorResponder(), AccessLog.NONE,
                s.serverHeader().map(AsciiString::cached).orElse(null), AsciiString.cached(s.requestIdHeader()),
                List.of());
    }

    /** Stops accepting on {@code l} and lets its connections finish what they are doing, then close. */
    private static void retireListener(Listener l, String why) {
        l.channel.close();
        drain(l.connections);
        if (l.tls != null) {
            l.tls.close(); // its certificate watch and ticket rotation; open connections keep their TLS state
        }
        LOG.atInfo().addKeyValue("event", "listener_down").addKeyValue("listener", l.config.name())
                .addKeyValue("address", url(l.tls != null ? "https" : "http", l.bound)).addKeyValue("reason", why)
                .log("listener {} on {} closed ({}); its {} connection(s) finish what they are doing",
                        l.config.name(), url(l.tls != null ? "https" : "http", l.bound), why, l.connections.size());
    }

    /**
     * Closes every channel of {@code channels} at its socket, past its handlers, and waits until each is closed. A
     * plain {@code close()} goes through the pipeline, where an HTTP/2 connection that is already closing gracefully
     * chains it to the end of its last stream: one stream that never ends (a tunnel whose peer went silent) would
     * hold the shutdown forever. The handlers still hear {@code channelInactive}, so exchanges are logged as aborted.
     */
    private static void forceClose(ChannelGroup channels) {
        List<ChannelFuture> closing = new ArrayList<>();
        for (Channel ch : channels) {
            try {
                ch.eventLoop().execute(() -> ch.unsafe().close(ch.unsafe().voidPromise()));
                closing.add(ch.closeFuture());
            } catch (RejectedExecutionException e) {
                LOG.debug("the event loop of {} is already shut down", ch);
            }
        }
        for (ChannelFuture f : closing) {
            f.awaitUninterruptibly();
        }
    }

    private static void drain(ChannelGroup channels) {
        for (Channel ch : channels) {
            ch.eventLoop().execute(() -> {
                Http1ServerHandler h1 = ch.pipeline().get(Http1ServerHandler.class);
                Http2ServerConnection h2 = h1 == null ? ch.pipeline().get(Http2ServerConnection.class) : null;
                if (h1 != null) {
                    h1.drain();
                } else if (h2 != null) {
                    h2.drain(); // GOAWAY, then close once the streams in flight are done
                } else {
                    ch.close();
                }
            });
        }
    }

    /**
     * The operator-facing reason: the native transport words errors as {@code bind(..) failed with error(-98):
     * Address already in use}; only the part after the errno is meant for people.
     */
    static String describe(Throwable e) {
        String m = e.getMessage();
        if (m == null) {
            return e.getClass().getSimpleName();
        }
        int errno = m.indexOf("): ");
        String reason = errno >= 0 && m.startsWith("bind(") ? m.substring(errno + 3) : m;
        return reason.isEmpty() ? m : Character.toLowerCase(reason.charAt(0)) + reason.substring(1);
    }

    private static String url(String scheme, InetSocketAddress a) {
        String h = a.getAddress().getHostAddress();
        return scheme + "://" + (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    HttpServices services() {
        return snapshot.get().services();
    }

    public Snapshot snapshot() {
        return snapshot.get();
    }

    /**
     * The server's metrics, for its whole life (reloads keep them). Serve them with
     * {@code dev.turnpike.metrics.web.MetricsHandler} and {@code DashboardHandler}.
     */
    public Metrics metrics() {
        return metrics;
    }

    /** Addresses actually bound, in listener order (useful with port 0). */
    public List<InetSocketAddress> boundAddresses() {
        List<InetSocketAddress> out = new ArrayList<>();
        for (Listener l : listeners.values()) {
            out.add(l.bound);
        }
        return out;
    }

    /** The TLS side of the listener named {@code name}, if it has one. */
    public java.util.Optional<TlsListener> tlsListener(String name) {
        for (Listener l : listeners.values()) {
            if (l.config.name().equals(name) && l.tls != null) {
                return java.util.Optional.of(l.tls);
            }
        }
        return java.util.Optional.empty();
    }

    /** Where the admin API listens, when it is on. */
    public Optional<InetSocketAddress> adminAddress() {
        Listener a = admin;
        return a == null ? Optional.empty() : Optional.of(a.bound);
    }

    /**
     * The admin listener's path table: register handlers here to serve them on the admin API (see
     * {@link AdminRoutes}). Available whether or not the admin API is enabled; handlers are closed at shutdown.
     */
    public AdminRoutes adminRoutes() {
        return adminRoutes;
    }

    public String transportName() {
        return transport.name();
    }

    // ------------------------------------------------------------------------------------------ reload

    /**
     * Reads the configuration file again and applies it if it is valid (as SIGHUP, {@code POST /reload} and
     * {@code server.watch_config} do); never blocks: the reload runs on the server's control thread, after any other.
     */
    @Override
    public CompletableFuture<ReloadResult> reload(String trigger) {
        return reloader.reload(trigger);
    }

    /**
     * Puts a validated configuration in place, all or nothing (see the class comment). Runs on the control thread
     * (via {@link #reload}) or on a caller's thread; either way one at a time.
     *
     * @return what changed
     * @throws ReloadException when it cannot be put in place (a new port is taken); nothing changed then
     */
    public synchronized ConfigDiff apply(TurnpikeConfig next) throws ReloadException {
        if (stopped) {
            throw new ReloadException("the server is stopping", null);
        }
        Snapshot old = snapshot.get();
        ConfigDiff diff = ConfigDiff.between(old.config(), next);
        for (ListenerConfig l : next.listeners()) {
            metrics.listener(l.name()); // known before the routes' meters size their tables by listener
        }
        Snapshot fresh;
        try {
            fresh = Snapshot.compile(next, handlerContext(), handlers, old);
        } catch (RuntimeException e) {
            throw new ReloadException("could not build the new configuration: " + e.getMessage(), e);
        }
        // Bind what is new before anything changes, so that a port in use leaves everything as it was.
        Map<String, Listener> nextListeners = new LinkedHashMap<>();
        List<Listener> added = new ArrayList<>();
        // Kept listeners whose tls block changed get a new TlsListener, swapped in once nothing can fail.
        Map<Listener, TlsListener> newTls = new java.util.IdentityHashMap<>();
        boolean adminMoves = adminMoves(old.config().admin(), next.admin());
        Listener nextAdmin = adminMoves ? null : admin;
        try {
            for (ListenerConfig lc : next.listeners()) {
                Listener kept = listeners.get(Listener.key(lc));
                if (kept != null) {
                    nextListeners.put(kept.key, kept);
                    if (!kept.config.tls().equals(lc.tls()) || kept.config.http2().enabled() != lc.http2().enabled()) {
                        newTls.put(kept, lc.tls().isPresent() ? startTls(lc) : null);
                    }
                } else {
                    TlsListener tls = lc.tls().isPresent() ? startTls(lc) : null;
                    Listener l;
                    try {
                        l = bind(lc, tls);
                    } catch (ServerStartException e) {
                        if (tls != null) {
                            tls.close();
                        }
                        throw e;
                    }
                    added.add(l);
                    nextListeners.put(l.key, l);
                }
            }
            if (adminMoves && next.admin().enabled()) {
                nextAdmin = bindAdmin(next.admin());
                added.add(nextAdmin);
            }
        } catch (ServerStartException e) {
            for (Listener l : added) {
                l.channel.close();
                if (l.tls != null) {
                    l.tls.close();
                }
            }
            for (TlsListener t : newTls.values()) {
                if (t != null) {
                    t.close();
                }
            }
            fresh.close();
            throw new ReloadException(e.getMessage(), e);
        }

        // From here on nothing can fail: the new configuration takes over.
        for (ListenerConfig lc : next.listeners()) {
            Listener l = nextListeners.get(Listener.key(lc));
            l.update(lc);
            if (newTls.containsKey(l)) {
                TlsListener before = l.tls;
                l.tls = newTls.get(l);
                if (before != null) {
                    before.close();
                }
            }
            refreshServices(l);
        }
        adminServices = adminServices(next);
        adminRoutes.token(next.admin().token());
        snapshot.set(fresh);
        for (Listener l : listeners.values()) {
            if (!nextListeners.containsKey(l.key)) {
                retireListener(l, "removed from the configuration");
            }
        }
        listeners = Collections.unmodifiableMap(nextListeners);
        if (adminMoves && admin != null) {
            retireListener(admin, next.admin().enabled() ? "the admin API moved" : "the admin API was turned off");
        }
        admin = nextAdmin;
        retire(old, next);
        settings(next);
        return diff;
    }

    /** Whether the admin listener must be bound elsewhere (or opened, or closed). */
    private static boolean adminMoves(AdminConfig before, AdminConfig after) {
        return before.enabled() != after.enabled() || !before.host().equals(after.host())
                || before.port() != after.port();
    }

    /**
     * {@code old} serves no new exchange: it closes when its last one is over. Exchanges still running on a route
     * that changed or went away (in any snapshot still retiring) are closed after the grace period.
     */
    private void retire(Snapshot old, TurnpikeConfig next) {
        retiring.add(old);
        old.retire(control, () -> {
            synchronized (this) {
                retiring.remove(old);
            }
        });
        Map<String, Object> nextTree = ConfigTree.of(next, false);
        Duration grace = next.server().reloadGrace();
        for (Snapshot s : retiring) {
            Set<String> affected = ConfigDiff.affectedRoutes(ConfigTree.of(s.config(), false), nextTree);
            if (!affected.isEmpty()) {
                HttpServices services = s.services();
                control.schedule(() -> endGrace(services, affected, grace), grace.toMillis(), TimeUnit.MILLISECONDS);
            }
        }
    }

    /** The grace period is over: closes the exchanges of {@code services} still running on an affected route. */
    private void endGrace(HttpServices services, Set<String> affected, Duration grace) {
        Predicate<Exchange> stale = ex -> ex.services() == services && ex.routeName() != null
                && affected.contains(ex.siteName() + "/" + ex.routeName());
        Map<EventLoop, List<Channel>> byLoop = new HashMap<>();
        for (Channel ch : connections) {
            byLoop.computeIfAbsent(ch.eventLoop(), k -> new ArrayList<>()).add(ch);
        }
        AtomicInteger closed = new AtomicInteger();
        AtomicInteger loops = new AtomicInteger(byLoop.size());
        byLoop.forEach((loop, channels) -> loop.execute(() -> {
            for (Channel ch : channels) {
                Http1ServerHandler h1 = ch.pipeline().get(Http1ServerHandler.class);
                Http2ServerConnection h2 = h1 == null ? ch.pipeline().get(Http2ServerConnection.class) : null;
                if (h1 != null && h1.abortExchangeIf(stale)) {
                    closed.incrementAndGet();
                } else if (h2 != null) {
                    closed.addAndGet(h2.abortExchangesIf(stale));
                }
            }
            if (loops.decrementAndGet() == 0 && closed.get() > 0) {
                LOG.atInfo().addKeyValue("event", "reload_grace_over").addKeyValue("closed", closed.get())
                        .addKeyValue("routes", List.copyOf(affected))
                        .log("reload grace period ({}) over: closed {} exchange(s) still running on routes that"
                                + " changed or went away", Durations.format(grace), closed.get());
            }
        }));
    }

    /** Process settings that a reload can change without rebinding: shutdown timeout, log format, file watch. */
    private void settings(TurnpikeConfig config) {
        ServerSettings s = config.server();
        shutdownTimeout = s.shutdownTimeout();
        ServerLog.useFormat(s.logFormat() == ServerSettings.LogFormat.JSON ? ServerLog.Format.JSON
                : ServerLog.Format.TEXT, System.getenv());
        Optional<java.nio.file.Path> file = reloader.source().file();
        if (s.watchConfig() && file.isPresent()) {
            if (watcher == null) {
                watcher = new ConfigWatcher(file.get(), control, () -> reload("file change"));
            }
        } else {
            if (s.watchConfig()) {
                LOG.warn("server.watch_config is on, but there is no configuration file to watch");
            }
            if (watcher != null) {
                watcher.close();
                watcher = null;
            }
        }
    }

    /** Snapshots a reload replaced whose exchanges are still running. */
    synchronized int retiringSnapshots() {
        return retiring.size();
    }

    // ------------------------------------------------------------------------------------------ admin target

    @Override
    public Serving serving() {
        Snapshot s = snapshot.get();
        return new Serving(s.config(), s.router(), s.clusters());
    }

    @Override
    public Optional<String> notReady() {
        if (draining) {
            return Optional.of("shutting down");
        }
        for (Listener l : listeners.values()) {
            if (!l.channel.isActive()) {
                return Optional.of("listener " + l.config.name() + " is not bound");
            }
        }
        return Optional.empty();
    }

    // ------------------------------------------------------------------------------------------ shutdown

    /**
     * Stops accepting, lets in-flight exchanges finish for up to {@code timeout} (HTTP/1.1 responses carry
     * Connection: close; HTTP/2 connections get GOAWAY), then closes what is left and releases the event loops. The admin API answers (readiness:
     * shutting down) until the last client connection is gone.
     */
    public void shutdown(Duration timeout) {
        List<Listener> all;
        Listener adminListener;
        synchronized (this) {
            if (stopped) {
                return;
            }
            stopped = true;
            draining = true;
            if (watcher != null) {
                watcher.close();
                watcher = null;
            }
            all = List.copyOf(listeners.values());
            adminListener = admin;
        }
        long start = System.nanoTime();
        metrics.close(); // ends the dashboard's event streams, which would otherwise hold their connections open
        for (Listener l : all) {
            if (l.channel != null) {
                l.channel.close().awaitUninterruptibly();
            }
        }
        drain(connections);
        long deadline = start + timeout.toNanos();
        while (!connections.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int forced = connections.size();
        forceClose(connections);
        if (adminListener != null && adminListener.channel != null) {
            adminListener.channel.close().awaitUninterruptibly();
        }
        forceClose(adminConnections);
        for (Listener l : all) {
            if (l.tls != null) {
                l.tls.close();
            }
        }
        control.shutdownNow();
        List<Snapshot> left;
        synchronized (this) {
            left = new ArrayList<>(retiring);
            retiring.clear();
        }
        left.add(snapshot.getAndSet(null));
        for (Snapshot s : left) {
            if (s != null) {
                s.close();
            }
        }
        adminRoutes.close();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        blockingExecutor.shutdownNow();
        LOG.info("stopped after {} ms; {} connection(s) closed at the deadline",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), forced);
    }

    public Duration shutdownTimeout() {
        return shutdownTimeout;
    }

    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }

    /**
     * Netty's default buffer leak detection (SIMPLE) wraps one buffer in 128 and records a stack trace for it:
     * about 5% of the CPU of a proxied request. It is turned off unless asked for, with
     * {@code -Dio.netty.leakDetection.level=simple} (or a level set in code, as the tests do).
     */
    static void defaultLeakDetection() {
        if (System.getProperty("io.netty.leakDetection.level") == null
                && System.getProperty("io.netty.leakDetectionLevel") == null
                && ResourceLeakDetector.getLevel() == ResourceLeakDetector.Level.SIMPLE) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
    }

    /** The JVM flags that matter for Netty on Java 25, as actually in effect, for the startup log. */
    static String relevantJvmFlags() {
        List<String> flags = new ArrayList<>();
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--sun-misc-unsafe-memory-access") || arg.startsWith("--enable-native-access")
                    || arg.startsWith("-XX:AOTCache") || arg.startsWith("-Xmx") || arg.startsWith("-XX:+Use")
                    || arg.startsWith("-Dio.netty")) {
                flags.add(arg);
            }
        }
        return flags.isEmpty() ? "none" : String.join(" ", flags);
    }
}
