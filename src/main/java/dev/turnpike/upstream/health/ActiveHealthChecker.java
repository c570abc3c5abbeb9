package dev.turnpike.upstream.health;

import dev.turnpike.config.ClusterConfig.ActiveCheck;
import dev.turnpike.config.Durations;
import dev.turnpike.upstream.ConnectionPools;
import dev.turnpike.grpc.Grpc;
import dev.turnpike.grpc.GrpcHealth;
import dev.turnpike.grpc.GrpcStatus;
import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.Http2ClientSupport;
import dev.turnpike.upstream.UpstreamProtocol;
import dev.turnpike.upstream.UpstreamTls;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.resolver.NoopAddressResolverGroup;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.netty.util.internal.ThreadExecutorMap;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * Active health checks of one cluster: every endpoint is probed every {@code interval} plus a random jitter (up to
 * {@code jitter × interval}), the first time at a random point within {@code min(interval, 1 s)} of {@link #start()}
 * so that endpoints do not align.
 *
 * <p>A probe uses a fresh connection, never a pooled one, made on this checker's event loop with the server's
 * transport (a domain socket for a Unix-socket endpoint). An HTTP probe sends {@code GET path HTTP/1.1} with
 * {@code Host} (configured, else the endpoint's authority, or {@code localhost} for a socket),
 * {@code Connection: close} and {@code User-Agent: Turnpike-Health-Check}; it passes when the status is within {@code [statusFrom, statusTo]} and, if {@code bodyContains} is set, the first 64 KiB of the body contain it
 * (UTF-8 bytes). A TCP probe passes when the connect succeeds. For an HTTP/2 cluster ({@code protocol: h2c}) the
 * HTTP probe is the same GET on a stream of a fresh h2c connection (prior knowledge), and a gRPC probe calls
 * {@code grpc.health.v1.Health/Check} for the configured service: it passes on HTTP 200, {@code grpc-status} 0 and
 * SERVING. The whole probe (name lookup, connect, response) is bounded by {@code timeout}. Names are resolved by the {@link ProbeResolver}, off the event loop; nothing here
 * blocks.
 *
 * <p>Rise and fall, HAProxy-like: an endpoint keeps the health it has when checking starts (normally up) and is
 * <em>unknown</em> to the checker until its first probe, which decides at once either way: a first failure takes it
 * down, a first pass confirms it up. From then on it goes down after {@code fall} consecutive failures and comes back
 * (through slow start) after {@code rise} consecutive passes. With {@link StartMode#DOWN_UNTIL_FIRST_PASS} (Envoy-like)
 * a new endpoint is instead held down ("health check: not passed yet") until its first pass. While down, the reason
 * follows the latest failure. The checker's verdict is combined with outlier detection by {@link ClusterHealth}.
 *
 * <p>Reasons look like {@code "health check: status 503 (expected 200-399)"}, {@code "health check: timed out after
 * 2s"}, {@code "health check: connection refused"}, {@code "health check: body does not contain \"ok\""}.
 *
 * <p>Threading: all probing state is confined to one event loop of the group; membership changes and
 * {@link #close()} hop onto it. {@code close()} stops probing, closes probes in flight and withdraws the checker's
 * verdicts (an endpoint it held down comes back unless the outlier detector holds it down).
 */
public final class ActiveHealthChecker implements AutoCloseable {

    public static final String USER_AGENT = "Turnpike-Health-Check";
    /** How much of the body is searched for {@code bodyContains}. */
    public static final int MAX_BODY_BYTES = 64 * 1024;
    /** The first probes of a starting checker are spread over this (or the interval, when shorter). */
    static final long FIRST_CHECK_SPREAD_NANOS = TimeUnit.SECONDS.toNanos(1);
    static final String NOT_PASSED_YET = "health check: not passed yet";

    /** How a newly checked endpoint is treated until its first probe. */
    public enum StartMode {
        /** It keeps its health (up); the first probe decides at once either way (HAProxy). The default. */
        ASSUME_UP,
        /** It is held down until its first probe passes (Envoy); a cluster starts in panic until then. */
        DOWN_UNTIL_FIRST_PASS
    }

    private final ClusterHealth health;
    private final ActiveCheck check;
    private final EventLoop loop;
    private final ProbeResolver resolver;
    private final StartMode startMode;
    private final Bootstrap bootstrap;
    private final Bootstrap directBootstrap;
    private final Function<Endpoint, ConnectionPools.Direct> directTargets;
    private final long intervalNanos;
    private final long timeoutNanos;
    private final double jitter;
    /** The check sends a request (http or grpc) rather than only connecting. */
    private final boolean http;
    private final boolean grpc;
    /** Probes speak HTTP/2 (h2c, prior knowledge, or ALPN over TLS). */
    private final boolean h2;
    /** TLS to the endpoints, or null. */
    private final UpstreamTls tls;
    private final String path;
    private final byte[] needle;
    private final String timeoutReason;
    private final String bodyReason;
    private final String expected;
    private final HttpDecoderConfig decoderConfig = new HttpDecoderConfig()
            .setMaxInitialLineLength(8192)
            .setMaxHeaderSize(64 * 1024)
            .setMaxChunkSize(MAX_BODY_BYTES);
    private final ClusterHealth.MembershipListener listener = this::membersChanged;
    private final AtomicBoolean started = new AtomicBoolean();
    /** Confined to {@link #loop}. */
    private final Map<EndpointHealth, Probe> probes = new IdentityHashMap<>();
    private volatile boolean closed;

    /** {@link StartMode#ASSUME_UP}. */
    public ActiveHealthChecker(ClusterHealth health, ActiveCheck check, EventLoopGroup group,
                               Class<? extends SocketChannel> channelClass, ProbeResolver resolver) {
        this(health, check, group, channelClass, resolver, StartMode.ASSUME_UP, endpoint -> null);
    }

    /** With every endpoint reached over TCP. */
    public ActiveHealthChecker(ClusterHealth health, ActiveCheck check, EventLoopGroup group,
                               Class<? extends SocketChannel> channelClass, ProbeResolver resolver,
                               StartMode startMode) {
        this(health, check, group, channelClass, resolver, startMode, endpoint -> null);
    }

    /**
     * @param health       the cluster's health, which this checker joins (one checker per cluster)
     * @param check        the cluster's {@code health.active} configuration
     * @param group        the server's event loops (or one loop); one of them runs all of this cluster's probes
     * @param channelClass the client socket class of the group's transport
     * @param resolver     resolves host names off the event loop
     * @param startMode    how an endpoint is treated before its first probe
     * @param directTargets for an endpoint that is not a TCP host and port (a Unix socket), how to reach it; null
     *                     for TCP endpoints. A direct probe is not resolved, has no TCP options and sends
     *                     {@code Host: localhost} unless the check names a host
     */
    public ActiveHealthChecker(ClusterHealth health, ActiveCheck check, EventLoopGroup group,
                               Class<? extends SocketChannel> channelClass, ProbeResolver resolver,
                               StartMode startMode, Function<Endpoint, ConnectionPools.Direct> directTargets) {
        this(health, check, group, channelClass, resolver, startMode, directTargets, UpstreamProtocol.HTTP1, null);
    }

    /**
     * As above, for a cluster that speaks {@code protocol}, over {@code tls} when not null: an http check of an HTTP/2
     * cluster goes over HTTP/2 (h2c prior knowledge, or TLS with ALPN), a grpc check needs an HTTP/2 cluster. A tcp
     * check only connects, without TLS.
     */
    public ActiveHealthChecker(ClusterHealth health, ActiveCheck check, EventLoopGroup group,
                               Class<? extends SocketChannel> channelClass, ProbeResolver resolver,
                               StartMode startMode, Function<Endpoint, ConnectionPools.Direct> directTargets,
                               UpstreamProtocol protocol, UpstreamTls tls) {
        this.tls = tls;
        this.health = Objects.requireNonNull(health, "health");
        this.check = validate(Objects.requireNonNull(check, "check"));
        this.loop = Objects.requireNonNull(group, "group").next();
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.startMode = Objects.requireNonNull(startMode, "startMode");
        this.intervalNanos = check.interval().toNanos();
        this.timeoutNanos = check.timeout().toNanos();
        this.jitter = check.jitter();
        this.http = check.kind() != ActiveCheck.Kind.TCP;
        this.grpc = check.kind() == ActiveCheck.Kind.GRPC;
        this.h2 = Objects.requireNonNull(protocol, "protocol").isHttp2();
        if (grpc && !h2) {
            throw new IllegalArgumentException("a grpc health check needs an HTTP/2 cluster");
        }
        String p = check.path() == null || check.path().isEmpty() ? "/" : check.path();
        this.path = p.startsWith("/") ? p : "/" + p;
        String contains = check.bodyContains().filter(s -> !s.isEmpty()).orElse(null);
        this.needle = contains == null ? null : contains.getBytes(StandardCharsets.UTF_8);
        this.bodyReason = contains == null ? null
                : "health check: body does not contain \"" + abbreviate(contains, 64) + "\"";
        this.timeoutReason = "health check: timed out after " + Durations.format(check.timeout());
        this.expected = check.statusFrom() == check.statusTo() ? "expected " + check.statusFrom()
                : "expected " + check.statusFrom() + "-" + check.statusTo();
        this.directTargets = Objects.requireNonNull(directTargets, "directTargets");
        this.directBootstrap = new Bootstrap()
                .group(loop)
                .resolver(NoopAddressResolverGroup.INSTANCE)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                        (int) Math.max(1, Math.min(Integer.MAX_VALUE, check.timeout().toMillis())));
        this.bootstrap = directBootstrap.clone()
                .channel(Objects.requireNonNull(channelClass, "channelClass"))
                .option(ChannelOption.TCP_NODELAY, true);
        health.attach(this);
    }

    private static ActiveCheck validate(ActiveCheck c) {
        Objects.requireNonNull(c.kind(), "kind");
        if (c.interval() == null || c.interval().isNegative() || c.interval().isZero()) {
            throw new IllegalArgumentException("health check interval must be positive: " + c.interval());
        }
        if (c.timeout() == null || c.timeout().isNegative() || c.timeout().isZero()) {
            throw new IllegalArgumentException("health check timeout must be positive: " + c.timeout());
        }
        if (c.rise() < 1 || c.fall() < 1) {
            throw new IllegalArgumentException("health check rise and fall must be at least 1: " + c.rise() + ", "
                    + c.fall());
        }
        if (!(c.jitter() >= 0 && c.jitter() <= 1)) {
            throw new IllegalArgumentException("health check jitter must be between 0 and 1: " + c.jitter());
        }
        if (c.kind() == ActiveCheck.Kind.HTTP && (c.statusFrom() < 100 || c.statusTo() > 599
                || c.statusFrom() > c.statusTo())) {
            throw new IllegalArgumentException("health check status range must be within 100-599: "
                    + c.statusFrom() + "-" + c.statusTo());
        }
        return c;
    }

    /** The event loop that runs this checker's probes. */
    public EventLoop eventLoop() {
        return loop;
    }

    public ActiveCheck check() {
        return check;
    }

    /** Starts probing the cluster's endpoints (and those that join later). Once. */
    public void start() {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        if (started.compareAndSet(false, true)) {
            health.subscribe(listener);
        }
    }

    /**
     * Stops probing, closes the probe connections in flight and withdraws this checker's verdicts. Returns when done,
     * unless called from another event loop (it then does not wait, to never block one loop on another).
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        health.unsubscribe(listener);
        Runnable cleanup = () -> {
            for (Probe p : probes.values()) {
                stop(p, true);
            }
            probes.clear();
        };
        try {
            if (loop.inEventLoop()) {
                cleanup.run();
            } else {
                Future<?> f = loop.submit(cleanup);
                if (ThreadExecutorMap.currentExecutor() == null) {
                    f.awaitUninterruptibly(5, TimeUnit.SECONDS);
                }
            }
        } catch (RejectedExecutionException e) {
            cleanup.run(); // the loop has stopped: nothing runs on it any more
        } finally {
            health.detach(this);
        }
    }

    // ---------------------------------------------------------------- membership (hops to the loop)

    private void membersChanged(List<EndpointHealth> added, List<EndpointHealth> removed) {
        List<EndpointHealth> add = List.copyOf(added);
        List<EndpointHealth> remove = List.copyOf(removed);
        try {
            loop.execute(() -> {
                for (EndpointHealth h : remove) {
                    Probe p = probes.remove(h);
                    if (p != null) {
                        stop(p, false);
                    }
                }
                for (EndpointHealth h : add) {
                    addProbe(h);
                }
            });
        } catch (RejectedExecutionException e) {
            // the server is stopping
        }
    }

    private void addProbe(EndpointHealth h) {
        if (closed || !h.member || probes.containsKey(h)) {
            return;
        }
        Probe p = new Probe(h);
        probes.put(h, p);
        if (startMode == StartMode.DOWN_UNTIL_FIRST_PASS && h.verdict == HealthSnapshot.Check.UNKNOWN) {
            h.verdict = HealthSnapshot.Check.PENDING;
            h.activeReason = NOT_PASSED_YET;
            health.apply(h, "is held down until its first health check passes");
        }
        long spread = Math.max(1, Math.min(intervalNanos, FIRST_CHECK_SPREAD_NANOS));
        p.next = loop.schedule(p.run, ThreadLocalRandom.current().nextLong(spread), TimeUnit.NANOSECONDS);
    }

    private void stop(Probe p, boolean withdraw) {
        p.stopped = true;
        p.running = false;
        if (p.next != null) {
            p.next.cancel(false);
            p.next = null;
        }
        cancelTimeout(p);
        if (p.channel != null) {
            p.channel.close();
            p.channel = null;
        }
        if (withdraw) {
            EndpointHealth h = p.h;
            HealthSnapshot.Check was = h.verdict;
            h.verdict = HealthSnapshot.Check.UNKNOWN;
            h.activeReason = null;
            h.checkSuccesses = 0;
            h.checkFailures = 0;
            boolean heldDown = was == HealthSnapshot.Check.DOWN || was == HealthSnapshot.Check.PENDING;
            health.apply(h, heldDown ? "is no longer held down by health checks (checks stopped)" : null);
        }
    }

    // ---------------------------------------------------------------- one probe

    /** The probing of one endpoint; confined to the loop. */
    private final class Probe {
        final EndpointHealth h;
        final Endpoint endpoint;
        final InetSocketAddress literal;
        /** How to reach a Unix-socket endpoint; null for TCP. */
        final ConnectionPools.Direct direct;
        final String hostHeader;
        final Runnable run = () -> runCheck(this);
        long attempt;
        boolean running;
        boolean stopped;
        long nextAt;
        ScheduledFuture<?> next;
        ScheduledFuture<?> timeout;
        Channel channel;

        Probe(EndpointHealth h) {
            this.h = h;
            this.endpoint = h.state.endpoint();
            this.direct = directTargets.apply(endpoint);
            this.literal = direct == null ? endpoint.literalAddress() : null;
            this.hostHeader = check.host().filter(s -> !s.isEmpty())
                    .orElse(direct == null ? endpoint.hostHeader() : ConnectionPools.Direct.HOST_HEADER);
        }

        boolean current(long id) {
            return attempt == id && running;
        }
    }

    private void runCheck(Probe p) {
        p.next = null;
        if (closed || p.stopped) {
            return;
        }
        long id = ++p.attempt;
        p.running = true;
        long now = System.nanoTime();
        p.nextAt = now + intervalNanos + jitterNanos();
        p.timeout = loop.schedule(() -> finish(p, id, timeoutReason), timeoutNanos, TimeUnit.NANOSECONDS);
        if (p.direct != null) {
            connect(p, id, directBootstrap.clone().channel(p.direct.channelClass()), p.direct.address());
            return;
        }
        if (p.literal != null) {
            connect(p, id, bootstrap, p.literal);
            return;
        }
        CompletionStage<InetSocketAddress> lookup;
        try {
            lookup = resolver.resolve(p.endpoint);
        } catch (RuntimeException e) {
            finish(p, id, resolveReason(p, e));
            return;
        }
        lookup.whenComplete((address, failure) -> {
            try {
                loop.execute(() -> {
                    if (!p.current(id)) {
                        return;
                    }
                    if (failure != null || address == null || address.isUnresolved()) {
                        finish(p, id, resolveReason(p, failure));
                    } else {
                        connect(p, id, bootstrap, address);
                    }
                });
            } catch (RejectedExecutionException e) {
                // the loop is shutting down
            }
        });
    }

    long jitterNanos() {
        return jitter > 0 ? (long) (ThreadLocalRandom.current().nextDouble() * jitter * intervalNanos) : 0;
    }

    private void connect(Probe p, long id, Bootstrap how, SocketAddress address) {
        if (!p.current(id)) {
            return;
        }
        ChannelHandler handler;
        if (!http) {
            handler = Discard.INSTANCE;
        } else if (h2) {
            handler = new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    addTls(ch, p);
                    ch.pipeline()
                            .addLast("h2", Http2ClientSupport.codec(64 * 1024))
                            .addLast("h2-streams", Http2ClientSupport.multiplexer())
                            .addLast("probe-connection", new Http2ProbeConnection(p, id));
                }
            };
        } else {
            handler = new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    addTls(ch, p);
                    ch.pipeline()
                            .addLast("http-codec", new HttpClientCodec(decoderConfig, false, false))
                            .addLast("probe", new HttpProbeHandler(p, id));
                }
            };
        }
        ChannelFuture f;
        try {
            f = how.clone().handler(handler).connect(address);
        } catch (RuntimeException e) {
            finish(p, id, "health check: connect failed: " + describe(e));
            return;
        }
        p.channel = f.channel();
        f.addListener((ChannelFutureListener) cf -> {
            if (!p.current(id)) {
                cf.channel().close();
                return;
            }
            if (!cf.isSuccess()) {
                finish(p, id, connectReason(cf.cause()));
            } else if (!http) {
                finish(p, id, null);
            } else if (!h2) { // over HTTP/2 the request goes on a stream once the preface is out
                cf.channel().writeAndFlush(request(p)).addListener((ChannelFutureListener) w -> {
                    if (!w.isSuccess()) {
                        finish(p, id, "health check: sending the request failed: " + describe(w.cause()));
                    }
                });
            }
        });
    }

    /** Over TLS, the probe's pipeline starts with the handshake; the request waits in it until it is done. */
    private void addTls(Channel ch, Probe p) {
        if (tls != null) {
            ch.pipeline().addLast("tls", tls.newHandler(ch.alloc(), p.endpoint, p.direct != null));
        }
    }

    private FullHttpRequest request(Probe p) {
        if (grpc) {
            FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST,
                    GrpcHealth.CHECK_PATH, GrpcHealth.request(p.channel.alloc(), check.grpcService()));
            r.headers()
                    .set(HttpHeaderNames.HOST, p.hostHeader)
                    .set(HttpHeaderNames.USER_AGENT, USER_AGENT)
                    .set(HttpHeaderNames.CONTENT_TYPE, Grpc.APPLICATION_GRPC)
                    .set(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS)
                    .set(Grpc.GRPC_TIMEOUT, Grpc.timeoutValue(timeoutNanos));
            return r;
        }
        FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path,
                Unpooled.EMPTY_BUFFER);
        r.headers()
                .set(HttpHeaderNames.HOST, p.hostHeader)
                .set(HttpHeaderNames.USER_AGENT, USER_AGENT);
        if (!h2) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return r;
    }

    /** Ends probe {@code id} (null {@code failure} = passed), unless it already ended; schedules the next one. */
    private void finish(Probe p, long id, String failure) {
        if (!p.current(id)) {
            return;
        }
        p.running = false;
        cancelTimeout(p);
        Channel ch = p.channel;
        p.channel = null;
        if (ch != null) {
            ch.close();
        }
        if (closed || p.stopped) {
            return;
        }
        record(p.h, failure);
        long delay = Math.max(0, p.nextAt - System.nanoTime());
        p.next = loop.schedule(p.run, delay, TimeUnit.NANOSECONDS);
    }

    private static void cancelTimeout(Probe p) {
        if (p.timeout != null) {
            p.timeout.cancel(false);
            p.timeout = null;
        }
    }

    /** Rise and fall: updates the verdict of {@code h} for one probe result and applies it. On the loop. */
    private void record(EndpointHealth h, String failure) {
        HealthSnapshot.Check was = h.verdict;
        if (failure == null) {
            int n = saturatedIncrement(h.checkSuccesses);
            h.checkSuccesses = n;
            h.checkFailures = 0;
            h.lastCheck = "ok";
            if (was == HealthSnapshot.Check.UNKNOWN) {
                h.verdict = HealthSnapshot.Check.UP;
                health.apply(h, null);
            } else if (was == HealthSnapshot.Check.PENDING
                    || (was == HealthSnapshot.Check.DOWN && n >= check.rise())) {
                h.verdict = HealthSnapshot.Check.UP;
                h.activeReason = null;
                health.apply(h, was == HealthSnapshot.Check.PENDING ? "passed its first health check"
                        : "passed its health check " + times(n));
            } else {
                health.apply(h, null);
            }
        } else {
            int n = saturatedIncrement(h.checkFailures);
            h.checkFailures = n;
            h.checkSuccesses = 0;
            h.lastCheck = failure;
            if (was == HealthSnapshot.Check.UNKNOWN || (was == HealthSnapshot.Check.UP && n >= check.fall())) {
                h.verdict = HealthSnapshot.Check.DOWN;
                h.activeReason = failure;
                health.apply(h, was == HealthSnapshot.Check.UNKNOWN ? "failed its first health check"
                        : "failed its health check " + times(n));
            } else {
                if (was != HealthSnapshot.Check.UP) {
                    h.activeReason = failure; // still down: the reason follows the latest failure
                }
                health.apply(h, null);
            }
        }
    }

    private static String times(int n) {
        return n == 1 ? "once" : n + " times in a row";
    }

    private static int saturatedIncrement(int n) {
        return n == Integer.MAX_VALUE ? n : n + 1;
    }

    // ---------------------------------------------------------------- reasons

    private String statusReason(int status) {
        return "health check: status " + status + " (" + expected + ")";
    }

    private String resolveReason(Probe p, Throwable failure) {
        Throwable c = failure;
        while (c instanceof CompletionException && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof java.net.UnknownHostException) {
            return "health check: unknown host " + p.endpoint.host();
        }
        return "health check: cannot resolve " + p.endpoint.host() + (c == null ? "" : ": " + describe(c));
    }

    private String connectReason(Throwable c) {
        if (c instanceof io.netty.channel.ConnectTimeoutException) {
            return timeoutReason;
        }
        String msg = String.valueOf(c.getMessage()).toLowerCase(Locale.ROOT);
        if (msg.contains("refused")) {
            return "health check: connection refused";
        }
        if (c instanceof NoRouteToHostException || msg.contains("no route to host")) {
            return "health check: no route to host";
        }
        if (msg.contains("unreachable")) {
            return "health check: network unreachable";
        }
        if (c instanceof ConnectException) {
            return "health check: connect failed: " + c.getMessage();
        }
        return "health check: connect failed: " + describe(c);
    }

    private static String readReason(Throwable c) {
        String msg = String.valueOf(c.getMessage()).toLowerCase(Locale.ROOT);
        if (c instanceof IOException && msg.contains("reset")) {
            return "health check: connection reset";
        }
        return "health check: " + describe(c);
    }

    private static String invalidReason(Throwable c) {
        if (c instanceof PrematureChannelClosureException) {
            return "health check: connection closed before the end of the response";
        }
        return "health check: invalid response: " + describe(c);
    }

    private static String describe(Throwable c) {
        if (c == null) {
            return "unknown error";
        }
        String m = c.getMessage();
        return m == null || m.isBlank() ? c.getClass().getSimpleName() : m;
    }

    private static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "...";
    }

    static int indexOf(byte[] haystack, int length, byte[] needle, int from) {
        outer:
        for (int i = Math.max(0, from), last = length - needle.length; i <= last; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    // ---------------------------------------------------------------- handlers

    /** Reads one HTTP response and decides the probe. */
    private final class HttpProbeHandler extends ChannelInboundHandlerAdapter {
        private final Probe p;
        private final long id;
        private boolean interim;
        private boolean readingBody;
        private byte[] body;
        private int length;

        HttpProbeHandler(Probe p, long id) {
            this.p = p;
            this.id = id;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (p.current(id)) {
                    read(msg);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void read(Object msg) {
            if (msg instanceof HttpObject o && o.decoderResult().isFailure()) {
                finish(p, id, invalidReason(o.decoderResult().cause()));
                return;
            }
            if (msg instanceof HttpResponse r) {
                int status = r.status().code();
                if (status >= 100 && status < 200 && status != 101) {
                    interim = true; // 100 Continue, 103 Early Hints: the real response follows
                    return;
                }
                interim = false;
                if (status < check.statusFrom() || status > check.statusTo()) {
                    finish(p, id, statusReason(status));
                    return;
                }
                if (needle == null) {
                    finish(p, id, null);
                    return;
                }
                readingBody = true;
            }
            if (msg instanceof HttpContent c && readingBody && !interim) {
                int from = length - needle.length + 1;
                append(c.content());
                if (indexOf(body, length, needle, from) >= 0) {
                    finish(p, id, null);
                } else if (length >= MAX_BODY_BYTES || c instanceof LastHttpContent) {
                    finish(p, id, bodyReason);
                }
            }
        }

        private void append(ByteBuf content) {
            int n = Math.min(content.readableBytes(), MAX_BODY_BYTES - length);
            if (n <= 0) {
                return;
            }
            if (body == null) {
                body = new byte[Math.min(MAX_BODY_BYTES, Math.max(1024, n))];
            } else if (body.length - length < n) {
                body = Arrays.copyOf(body, Math.min(MAX_BODY_BYTES, Math.max(body.length * 2, length + n)));
            }
            content.getBytes(content.readerIndex(), body, length, n);
            length += n;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(p, id, "health check: connection closed before the response");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            finish(p, id, readReason(cause));
        }
    }

    /**
     * The connection of an HTTP/2 probe: once the preface is out, opens one stream whose pipeline converts frames to
     * {@code HttpObject}s for the same response handler as HTTP/1.1 (or the gRPC one) and sends the request on it.
     */
    private final class Http2ProbeConnection extends ChannelInboundHandlerAdapter {
        private final Probe p;
        private final long id;

        Http2ProbeConnection(Probe p, long id) {
            this.p = p;
            this.id = id;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.fireChannelActive();
            new Http2StreamChannelBootstrap(ctx.channel()).handler(new ChannelInitializer<Http2StreamChannel>() {
                @Override
                protected void initChannel(Http2StreamChannel ch) {
                    ch.pipeline()
                            .addLast("http2-codec", new Http2StreamFrameToHttpObjectCodec(false, true))
                            .addLast("probe", grpc ? new GrpcProbeHandler(p, id) : new HttpProbeHandler(p, id));
                }
            }).open().addListener((Future<Http2StreamChannel> f) -> {
                if (!p.current(id)) {
                    return;
                }
                if (!f.isSuccess()) {
                    finish(p, id, "health check: could not open an HTTP/2 stream: " + describe(f.cause()));
                    return;
                }
                f.getNow().writeAndFlush(request(p)).addListener((ChannelFutureListener) w -> {
                    if (!w.isSuccess()) {
                        finish(p, id, "health check: sending the request failed: " + describe(w.cause()));
                    }
                });
            });
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg); // SETTINGS, PING, GOAWAY: the stream's close tells the probe
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(p, id, "health check: connection closed before the response");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            finish(p, id, cause instanceof Http2Exception ? "health check: not an HTTP/2 server ("
                    + describe(cause) + ")" : readReason(cause));
        }
    }

    /**
     * Reads the answer to {@code grpc.health.v1.Health/Check}: passes on HTTP 200, grpc-status 0 and a status of
     * SERVING. A trailers-only answer carries its grpc-status in the head.
     */
    private final class GrpcProbeHandler extends ChannelInboundHandlerAdapter {
        private static final int MAX_MESSAGE = 4096;
        private final Probe p;
        private final long id;
        private ByteBuf message;

        GrpcProbeHandler(Probe p, long id) {
            this.p = p;
            this.id = id;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (p.current(id)) {
                    read(ctx, msg);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void read(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpObject o && o.decoderResult().isFailure()) {
                finish(p, id, invalidReason(o.decoderResult().cause()));
                return;
            }
            if (msg instanceof HttpResponse r) {
                int status = r.status().code();
                if (status >= 100 && status < 200) {
                    return;
                }
                if (status != 200) {
                    finish(p, id, "health check: HTTP status " + status + " (expected 200 for gRPC)");
                    return;
                }
                String grpcStatus = r.headers().get(Grpc.GRPC_STATUS);
                if (grpcStatus != null) {
                    finish(p, id, verdict(grpcStatus, r.headers().get(Grpc.GRPC_MESSAGE)));
                    return;
                }
            }
            if (msg instanceof HttpContent c) {
                if (message == null) {
                    message = ctx.alloc().heapBuffer(64);
                }
                int n = Math.min(c.content().readableBytes(), MAX_MESSAGE - message.readableBytes());
                message.writeBytes(c.content(), c.content().readerIndex(), Math.max(0, n));
                if (c instanceof LastHttpContent last) {
                    HttpHeaders t = last.trailingHeaders();
                    finish(p, id, verdict(t.get(Grpc.GRPC_STATUS), t.get(Grpc.GRPC_MESSAGE)));
                }
            }
        }

        /** The failure reason for a finished call, or null when it passed. */
        private String verdict(String grpcStatus, String grpcMessage) {
            if (grpcStatus == null) {
                return "health check: the gRPC response has no grpc-status";
            }
            int code;
            try {
                code = Integer.parseInt(grpcStatus.trim());
            } catch (NumberFormatException e) {
                return "health check: invalid grpc-status '" + abbreviate(grpcStatus, 16) + "'";
            }
            if (code != GrpcStatus.OK.code()) {
                return "health check: gRPC status " + GrpcStatus.describe(code)
                        + (grpcMessage == null || grpcMessage.isEmpty() ? "" : ": " + abbreviate(grpcMessage, 128));
            }
            if (message == null || message.readableBytes() < Grpc.FRAME_HEADER) {
                return "health check: the gRPC response has no message";
            }
            int length = message.getInt(message.readerIndex() + 1);
            if (message.getByte(message.readerIndex()) != 0 || length < 0
                    || length > message.readableBytes() - Grpc.FRAME_HEADER) {
                return "health check: invalid gRPC health response";
            }
            int serving = GrpcHealth.status(message.slice(message.readerIndex() + Grpc.FRAME_HEADER, length));
            if (serving < 0) {
                return "health check: invalid gRPC health response";
            }
            return serving == GrpcHealth.SERVING ? null : "health check: " + GrpcHealth.describe(serving);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            release();
            finish(p, id, "health check: stream closed before the response");
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            release();
        }

        private void release() {
            if (message != null) {
                message.release();
                message = null;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            finish(p, id, readReason(cause));
        }
    }

    /** The pipeline of a TCP probe: whatever the endpoint sends is dropped. */
    @ChannelHandler.Sharable
    private static final class Discard extends ChannelInboundHandlerAdapter {
        static final Discard INSTANCE = new Discard();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    @Override
    public String toString() {
        return "ActiveHealthChecker{" + health.cluster() + ", " + check.kind().name().toLowerCase(Locale.ROOT)
                + (http ? " " + path : "") + ", every " + Durations.format(check.interval()) + "}";
    }

    /** For tests: the probing state is confined to the loop, so this hops there. */
    List<String> probedEndpoints() throws Exception {
        return loop.submit(() -> {
            List<String> out = new ArrayList<>();
            for (Probe p : probes.values()) {
                out.add(p.endpoint.authority());
            }
            return out;
        }).get(5, TimeUnit.SECONDS);
    }
}
