package dev.turnpike.server;

import dev.turnpike.config.ListenerConfig;
import dev.turnpike.config.ServerSettings;
import dev.turnpike.config.TurnpikeConfig;
import dev.turnpike.handler.HandlerContext;
import dev.turnpike.metrics.ListenerMetrics;
import dev.turnpike.metrics.Metrics;
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
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A running Turnpike: event loops, listeners and the current configuration snapshot. Everything is
 * validated and compiled before the first socket is bound; a failure to bind closes what was opened.
 */
public final class TurnpikeServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TurnpikeServer.class);

    private final Transport transport;
    private final EventLoopGroup group;
    private final ExecutorService blockingExecutor;
    private final ByteBufAllocator allocator;
    private final AtomicReference<Snapshot> snapshot = new AtomicReference<>();
    private final ChannelGroup connections = new DefaultChannelGroup("connections", GlobalEventExecutor.INSTANCE);
    private final List<Channel> serverChannels = new ArrayList<>();
    private final List<InetSocketAddress> boundAddresses = new ArrayList<>();
    /** Bound port by listener name, for redirects to "the HTTPS listener" bound after the redirecting one. */
    private final java.util.Map<String, Integer> boundPorts = new java.util.concurrent.ConcurrentHashMap<>();
    private final List<TlsListener> tlsListeners = new ArrayList<>();
    /** How TLS connections that choose h2 by ALPN continue; null offers HTTP/1.1 only. */
    /** HTTP/2 for TLS connections whose client picked {@code h2} by ALPN. */
    static final Http2Hook HTTP2_OVER_TLS = (ch, services, listener) ->
            Http2ServerSupport.install(ch, services, listener, "https");

    private Http2Hook http2;
    private final Duration shutdownTimeout;
    private final Metrics metrics;
    private boolean stopped;
    /** Set when shutdown begins: a connection accepted after the drain sweep is closed at once. */
    private volatile boolean draining;

    private TurnpikeServer(TurnpikeConfig config) {
        ServerSettings s = config.server();
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
        LOG.info("starting: transport={} event_loops={} allocator={} java={} jvm_flags={} leak_detection={}",
                transport.name(), loops, s.allocator().name().toLowerCase(java.util.Locale.ROOT), Runtime.version(),
                relevantJvmFlags(), ResourceLeakDetector.getLevel().name().toLowerCase(java.util.Locale.ROOT));
    }

    /** Compiles {@code config}, binds every listener and returns the running server. */
    public static TurnpikeServer start(TurnpikeConfig config) throws ServerStartException {
        return start(config, HandlerFactory.DEFAULT);
    }

    /** As {@link #start(TurnpikeConfig)}, with route handlers built by {@code handlers}. */
    public static TurnpikeServer start(TurnpikeConfig config, HandlerFactory handlers) throws ServerStartException {
        return start(config, handlers, HTTP2_OVER_TLS);
    }

    /**
     * As {@link #start(TurnpikeConfig, HandlerFactory)}; TLS listeners offer {@code h2} by ALPN and hand connections
     * that choose it to {@code http2} (null: HTTP/1.1 only).
     */
    public static TurnpikeServer start(TurnpikeConfig config, HandlerFactory handlers, Http2Hook http2)
            throws ServerStartException {
        TurnpikeServer server = new TurnpikeServer(config);
        server.http2 = http2;
        try {
            server.snapshot.set(Snapshot.compile(config, server.handlerContext(), handlers));
            // Every certificate is loaded before the first port opens: a TLS problem starts nothing.
            List<TlsListener> tls = new ArrayList<>();
            for (ListenerConfig listener : config.listeners()) {
                tls.add(listener.tls().isPresent() ? server.startTls(listener) : null);
            }
            for (int i = 0; i < config.listeners().size(); i++) {
                server.bind(config.listeners().get(i), tls.get(i));
            }
            return server;
        } catch (ServerStartException e) {
            server.close();
            throw e;
        } catch (RuntimeException e) {
            server.close();
            throw new ServerStartException("could not start: " + e.getMessage(), e);
        }
    }

    public HandlerContext handlerContext() {
        return new HandlerContext(transport.socketChannelClass(), blockingExecutor, group, Clusters.EMPTY, metrics);
    }

    private TlsListener startTls(ListenerConfig listener) throws ServerStartException {
        try {
            TlsListener t = TlsListener.start(listener, listener.http2().enabled() ? http2 : null, group,
                    blockingExecutor);
            tlsListeners.add(t);
            return t;
        } catch (IllegalStateException e) {
            throw new ServerStartException(e.getMessage(), e);
        }
    }

    private void bind(ListenerConfig listener, TlsListener tls) throws ServerStartException {
        ListenerMetrics listenerMetrics = metrics.listener(listener.name());
        ConnectionLimiter.Counters counters = new ConnectionLimiter.Counters(
                listener.limits().maxConnections(), listener.limits().maxConnectionsPerClient(), listenerMetrics);
        boolean zeroCopy = listener.sendfile();
        Supplier<HttpServices> services;
        if (tls != null) {
            services = tls.services(this::services);
        } else if (listener.redirectToHttps().isPresent()) {
            ListenerConfig.HttpsRedirect r = listener.redirectToHttps().get();
            services = HttpsRedirect.services(this::services,
                    r.port() > 0 ? () -> r.port() : () -> boundPorts.getOrDefault(r.listener(), 443));
        } else {
            services = this::services;
        }
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannelClass())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.ALLOCATOR, allocator)
                .childOption(ChannelOption.ALLOCATOR, allocator)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 64 * 1024))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.add(ch);
                        ch.attr(ListenerMetrics.KEY).set(listenerMetrics);
                        if (draining) {
                            ch.close();
                            return;
                        }
                        ch.pipeline().addLast("limiter", new ConnectionLimiter(counters));
                        if (tls != null) {
                            tls.initChannel(ch, services);
                        } else if (listener.http2().enabled()) {
                            Http2ServerSupport.installCleartext(ch, services, listener, zeroCopy);
                        } else {
                            Http1ServerHandler.install(ch, services, listener, "http", zeroCopy);
                        }
                    }
                });
        InetSocketAddress address = new InetSocketAddress(listener.host(), listener.port());
        try {
            Channel ch = b.bind(address).sync().channel();
            serverChannels.add(ch);
            InetSocketAddress bound = (InetSocketAddress) ch.localAddress();
            boundAddresses.add(bound);
            boundPorts.put(listener.name(), bound.getPort());
            LOG.info("listener {} up on {}://{}:{}", listener.name(), tls != null ? "https" : "http", hostText(bound),
                    bound.getPort());
        } catch (Exception e) {
            throw new ServerStartException("cannot listen on " + listener.address() + " (" + listener.position()
                    + "): " + describe(e), e);
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

    private static String hostText(InetSocketAddress a) {
        String h = a.getAddress().getHostAddress();
        return h.indexOf(':') >= 0 ? "[" + h + "]" : h;
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
        return List.copyOf(boundAddresses);
    }

    /** The TLS side of the listener named {@code name}, if it has one. */
    public java.util.Optional<TlsListener> tlsListener(String name) {
        return tlsListeners.stream().filter(t -> t.name().equals(name)).findFirst();
    }

    public String transportName() {
        return transport.name();
    }

    /**
     * Stops accepting, lets in-flight exchanges finish for up to {@code timeout} (HTTP/1.1 responses carry
     * Connection: close; HTTP/2 connections get GOAWAY), then closes what is left and releases the event loops.
     */
    public synchronized void shutdown(Duration timeout) {
        if (stopped) {
            return;
        }
        stopped = true;
        draining = true;
        long start = System.nanoTime();
        metrics.close(); // ends the dashboard's event streams, which would otherwise hold their connections open
        for (Channel ch : serverChannels) {
            ch.close().awaitUninterruptibly();
        }
        for (Channel ch : connections) {
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
        connections.close().awaitUninterruptibly();
        for (TlsListener t : tlsListeners) {
            t.close();
        }
        Snapshot s = snapshot.getAndSet(null);
        if (s != null) {
            s.close();
        }
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
