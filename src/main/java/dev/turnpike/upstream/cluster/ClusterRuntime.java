package dev.turnpike.upstream.cluster;

import dev.turnpike.config.ClusterConfig;
import dev.turnpike.config.ClusterConfig.Address;
import dev.turnpike.config.ClusterConfig.EndpointConfig;
import dev.turnpike.config.ConfigTree;
import dev.turnpike.upstream.ConnectionPool;
import dev.turnpike.upstream.ConnectionPools;
import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.PoolConfig;
import dev.turnpike.upstream.UpstreamTls;
import dev.turnpike.upstream.health.ActiveHealthChecker;
import dev.turnpike.upstream.health.ClusterHealth;
import dev.turnpike.upstream.health.HealthSnapshot;
import dev.turnpike.upstream.health.OutlierDetector;
import dev.turnpike.upstream.health.ProbeResolver;
import dev.turnpike.upstream.lb.ClusterBalancer;
import dev.turnpike.upstream.lb.EndpointSettings;
import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.Health;
import dev.turnpike.upstream.lb.HashKey;
import dev.turnpike.upstream.lb.LbOptions;
import dev.turnpike.upstream.lb.PickContext;
import dev.turnpike.upstream.lb.PickResult;
import dev.turnpike.upstream.lb.Ticker;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The runtime of one upstream cluster for one configuration snapshot: its endpoints' states, load balancer, health
 * (active checks and outlier detection), retry policy and budget, circuit breaker, timeouts and sticky cookie, all
 * built from a {@link ClusterConfig}. Built by {@link Clusters#build} (or {@link #build}); {@link #start()} starts the
 * active health checks; {@link #close()} stops everything. Shared by every event loop: every method is thread-safe,
 * and the per-request ones ({@link #pick}, {@link #onAttemptStart}, {@link #onAttemptResult}, {@link #target},
 * {@link #tryStartRequest}, {@link #endRequest}, {@link #tryStartRetry}, {@link #endRetry}) are lock-free and do not
 * allocate.
 *
 * <p>One request (phase B), in order:
 * <pre>{@code
 * if (!cluster.tryStartRequest()) -> 503 (circuit breaker: max_requests)
 * TriedEndpoints tried = ...;                        // per request, fed to the PickContext's isTried
 * attempt:
 *   PickResult pick = cluster.pick(ctx);             // null -> 503 (no endpoint can take it)
 *   EndpointState e = pick.endpoint(); tried.add(e);
 *   UpstreamTarget where = cluster.target(e);        // TCP endpoint or Unix socket
 *   cluster.onAttemptStart(e);
 *   ... connect / send / read the response ...
 *   cluster.onAttemptResult(e, outcome, nanosToHead);  // exactly once per onAttemptStart, when the attempt ends
 *   if failed && attempts left && cluster.retryPolicy().retryable(...) && cluster.tryStartRetry():
 *       goto attempt (and cluster.endRetry() when that attempt ends)
 * cluster.endRequest();                              // exactly once per successful tryStartRequest
 * }</pre>
 *
 * <p>Unix-socket endpoints are balanced, counted, probed and ejected like TCP ones, identified by a synthetic key (see
 * {@link UpstreamTarget}); the pools and the active checker reach them through {@link ConnectionPools.Direct}.
 */
public final class ClusterRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterRuntime.class);

    private final ClusterConfig config;
    private final String name;
    private final List<EndpointState> endpoints;
    private final Map<EndpointState, UpstreamTarget> targets;
    /** How the pools and the active checker reach the Unix-socket endpoints, by key. */
    private final Map<Endpoint, ConnectionPools.Direct> directTargets;
    private final ClusterBalancer balancer;
    private final ClusterHealth health;
    private final ActiveHealthChecker checker;
    private final OutlierDetector outlier;
    private final RetryPolicy retryPolicy;
    private final RetryBudget retryBudget;
    private final CircuitBreaker circuitBreaker;
    private final StageTimeouts timeouts;
    private final StickyCookie stickyCookie;
    private final PoolConfig poolConfig;
    private final ConnectionPools pools;
    private final Class<? extends SocketChannel> channelClass;
    /** What this runtime shares with the runtimes a reload carried it over to (see {@link #carryOver}). */
    private final Shared shared;
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * The lifecycle of the parts that outlive a reload: endpoint states and their health, balancer, health checks,
     * outlier detection, circuit breaker and connection pools. Closed when the last runtime using them closes.
     */
    private static final class Shared {
        final AtomicInteger users = new AtomicInteger(1);
        final AtomicBoolean started = new AtomicBoolean();

        boolean retain() {
            for (;;) {
                int n = users.get();
                if (n == 0) {
                    return false;
                }
                if (users.compareAndSet(n, n + 1)) {
                    return true;
                }
            }
        }
    }

    /**
     * Builds the runtime of {@code config}; nothing runs until {@link #start()}.
     *
     * @param group            the server's event loops: one of them runs the active checks and the ejection timers
     * @param channelClass     the client socket class of the group's transport (probes; phase B: connections)
     * @param blockingExecutor the server's blocking pool: probe name lookups and balancer rebuilds run there
     * @throws IllegalArgumentException when the configuration cannot be built (unknown policy, bad hash key, ...)
     */
    public static ClusterRuntime build(ClusterConfig config, EventLoopGroup group,
                                       Class<? extends SocketChannel> channelClass, Executor blockingExecutor) {
        Objects.requireNonNull(blockingExecutor, "blockingExecutor");
        return new ClusterRuntime(config, group, channelClass, blockingExecutor, Ticker.SYSTEM,
                ProbeResolver.blocking(blockingExecutor));
    }

    /** For tests: a clock and a probe resolver of their own. */
    ClusterRuntime(ClusterConfig config, EventLoopGroup group, Class<? extends SocketChannel> channelClass,
                   Executor blockingExecutor, Ticker ticker, ProbeResolver resolver) {
        this.config = Objects.requireNonNull(config, "config");
        this.name = config.name();
        this.shared = new Shared();
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(channelClass, "channelClass");
        Objects.requireNonNull(blockingExecutor, "blockingExecutor");

        EndpointSettings settings = endpointSettings(config, ticker);
        List<EndpointState> states = new ArrayList<>(config.endpoints().size());
        Map<EndpointState, UpstreamTarget> byState = new IdentityHashMap<>();
        Map<Endpoint, ConnectionPools.Direct> direct = new HashMap<>();
        for (EndpointConfig ec : config.endpoints()) {
            UpstreamTarget target = switch (ec.address()) {
                case Address.Tcp t -> new UpstreamTarget.Tcp(new Endpoint(t.host(), t.port()));
                case Address.Unix u -> UpstreamTarget.Unix.of(u.path());
            };
            EndpointState s = new EndpointState(target.key(), ec.weight(), ec.backup(), settings);
            states.add(s);
            byState.put(s, target);
            if (target instanceof UpstreamTarget.Unix u) {
                direct.put(u.key(), new ConnectionPools.Direct(UpstreamTarget.Unix.channelClass(channelClass),
                        u.socketAddress(channelClass)));
            }
        }
        this.endpoints = List.copyOf(states);
        this.targets = Collections.unmodifiableMap(byState);
        this.directTargets = Map.copyOf(direct);

        this.retryPolicy = RetryPolicy.of(config.retries());
        this.retryBudget = RetryBudget.of(config.retries());
        this.circuitBreaker = CircuitBreaker.of(config.limits());
        this.timeouts = StageTimeouts.of(config.timeouts());
        this.stickyCookie = config.loadBalancing().sticky().map(StickyCookie::of).orElse(null);
        this.poolConfig = poolConfig(config);
        if (poolConfig.tls() != null && !poolConfig.tls().verifies()) {
            LOG.warn("cluster {}: the TLS certificates of its endpoints are not verified (tls.verify: false)", name);
        }
        this.pools = new ConnectionPools(poolConfig, channelClass, blockingExecutor, circuitBreaker);
        this.channelClass = channelClass;

        List<AutoCloseable> built = new ArrayList<>();
        try {
            this.balancer = new ClusterBalancer(name, config.loadBalancing().policy(), lbOptions(config), endpoints,
                    blockingExecutor);
            built.add(balancer);
            this.health = new ClusterHealth(name, endpoints, ticker);
            this.checker = config.health().active().isPresent()
                    ? new ActiveHealthChecker(health, config.health().active().get(), group, channelClass, resolver,
                            ActiveHealthChecker.StartMode.ASSUME_UP, directTargets::get, config.protocol(),
                            poolConfig.tls())
                    : null;
            if (checker != null) {
                built.add(checker);
            }
            var passive = config.health().passive();
            this.outlier = passive.isPresent() ? new OutlierDetector(health, passive.get(), group.next()) : null;
            if (outlier != null) {
                built.add(outlier);
            }
        } catch (RuntimeException e) {
            for (AutoCloseable c : built.reversed()) {
                try {
                    c.close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /** A runtime for {@code config} on the shared parts of {@code previous}, whose definition is the same. */
    private ClusterRuntime(ClusterRuntime previous, ClusterConfig config) {
        this.config = config;
        this.name = config.name();
        this.shared = previous.shared;
        this.endpoints = previous.endpoints;
        this.targets = previous.targets;
        this.directTargets = previous.directTargets;
        this.balancer = previous.balancer;
        this.health = previous.health;
        this.checker = previous.checker;
        this.outlier = previous.outlier;
        this.circuitBreaker = previous.circuitBreaker;
        this.stickyCookie = previous.stickyCookie;
        this.poolConfig = previous.poolConfig;
        this.pools = previous.pools;
        this.channelClass = previous.channelClass;
        this.retryPolicy = RetryPolicy.of(config.retries());
        this.retryBudget = RetryBudget.of(config.retries());
        this.timeouts = StageTimeouts.of(config.timeouts());
    }

    /**
     * For a reload: a runtime for {@code next} that keeps {@code previous}'s endpoints, their health, the health
     * checks, the circuit breaker and the connection pools (so keep-alive connections survive), when the two
     * definitions differ at most in {@code retries} and the per-stage timeouts other than {@code connect}; else
     * null, and the caller builds a new one. Both runtimes can serve at once (the old one finishes its requests);
     * the shared parts close when the last of them does.
     */
    public static ClusterRuntime carryOver(ClusterRuntime previous, ClusterConfig next) {
        if (!previous.name.equals(next.name()) || previous.closed.get()
                || !definition(previous.config).equals(definition(next)) || !previous.shared.retain()) {
            return null;
        }
        return new ClusterRuntime(previous, next);
    }

    /**
     * What the shared parts are built from: everything but {@code retries} and the timeouts a request reads from the
     * runtime ({@code connect} is the pools' own). Source positions do not count.
     */
    private static Map<String, Object> definition(ClusterConfig c) {
        Map<String, Object> tree = new java.util.LinkedHashMap<>(ConfigTree.of(c, false));
        tree.remove("retries");
        tree.put("timeouts", c.timeouts().connect());
        return tree;
    }

    static EndpointSettings endpointSettings(ClusterConfig config, Ticker ticker) {
        EndpointSettings s = EndpointSettings.DEFAULTS.withTicker(ticker);
        Duration slowStart = config.slowStart();
        if (slowStart != null && !slowStart.isNegative() && !slowStart.isZero()) {
            s = s.withSlowStart(slowStart, s.slowStartAggression(), s.slowStartMinWeight());
        }
        return s;
    }

    /** {@code load_balancing} as balancer options: hash key and table, sticky cookie and fallback (salted by name). */
    static LbOptions lbOptions(ClusterConfig config) {
        ClusterConfig.LoadBalancing lb = config.loadBalancing();
        LbOptions o = LbOptions.DEFAULTS;
        if (lb.hashKey().isPresent()) {
            o = o.withHashKey(HashKey.parse(lb.hashKey().get()));
        }
        String table = lb.hashTable() == null ? "ring" : lb.hashTable().toLowerCase(Locale.ROOT);
        o = o.withHashTable(switch (table) {
            case "ring" -> LbOptions.HashTable.RING;
            case "maglev" -> LbOptions.HashTable.MAGLEV;
            default -> throw new IllegalArgumentException("cluster " + config.name() + ": unknown hash table '"
                    + lb.hashTable() + "', expected ring or maglev");
        });
        if (lb.sticky().isPresent()) {
            ClusterConfig.Sticky s = lb.sticky().get();
            // No salt is configurable yet: the cluster's name is the same on every instance behind one name.
            o = o.withSticky(s.cookie(), s.policy()).withStickySalt(config.name());
        }
        return o;
    }

    /** The pool settings of this cluster in the form {@code ConnectionPools} takes. */
    static PoolConfig poolConfig(ClusterConfig config) {
        ClusterConfig.Pool p = config.pool();
        PoolConfig base = PoolConfig.of(config.timeouts().connect(), p.maxIdle());
        Duration idle = p.idleTimeout() == null || p.idleTimeout().isNegative() || p.idleTimeout().isZero()
                ? PoolConfig.DEFAULT_IDLE_EXPIRY : p.idleTimeout();
        return new PoolConfig(base.connectTimeout(), base.maxIdlePerLoop(), idle, base.maxResponseLine(),
                base.maxResponseHeaderSize(), base.maxContentPiece(), p.maxRequestsPerConnection(),
                p.maxConnectionLifetime(), config.dnsRefresh(), p.maxConnections(), p.maxPending(),
                p.pendingTimeout(), config.protocol(), config.tls()
                        .map(t -> UpstreamTls.of(t, config.protocol(), config.timeouts().connect())).orElse(null));
    }

    // ---------------------------------------------------------------------------------------------- lifecycle

    /** Starts the active health checks, if configured. Idempotent. */
    public void start() {
        if (closed.get()) {
            throw new IllegalStateException("cluster " + name + " is closed");
        }
        if (shared.started.compareAndSet(false, true) && checker != null) {
            checker.start();
        }
    }

    /**
     * Stops the health checks and outlier detection and detaches the balancer, unless a runtime this one was carried
     * over to still uses them (they stop with the last). Picks keep working on the last balancer snapshot (requests of
     * a retiring configuration snapshot finish normally). Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true) || shared.users.decrementAndGet() > 0) {
            return;
        }
        closeQuietly(checker);
        closeQuietly(outlier);
        closeQuietly(balancer);
        closeQuietly(pools);
    }

    private void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.warn("cluster {}: closing {} failed", name, c, e);
        }
    }

    public boolean isClosed() {
        return closed.get();
    }

    // ---------------------------------------------------------------------------------------------- per request

    /**
     * Takes a request slot (circuit breaker {@code max_requests}) and counts the request for the retry budget.
     * False: answer 503 at once. True: call {@link #endRequest()} exactly once when the request ends (after its last
     * attempt, however it ended).
     */
    public boolean tryStartRequest() {
        if (!circuitBreaker.tryAcquireRequest()) {
            return false;
        }
        retryBudget.onRequestStart();
        return true;
    }

    /** Ends a request started with {@link #tryStartRequest()}. */
    public void endRequest() {
        retryBudget.onRequestEnd();
        circuitBreaker.releaseRequest();
    }

    /**
     * Takes a slot of the retry budget for one more attempt of a started request. True: the retry may go out, and
     * {@link #endRetry()} must follow when that attempt ends. False: the budget is exhausted; the client gets the
     * failure as it is.
     */
    public boolean tryStartRetry() {
        return retryBudget.tryAcquireRetry();
    }

    /** Ends a retry attempt started with {@link #tryStartRetry()}. */
    public void endRetry() {
        retryBudget.releaseRetry();
    }

    /**
     * The endpoint for an attempt, or null when no endpoint can take it (answer 503). Pass a context whose
     * {@link PickContext#isTried} reports the endpoints earlier attempts of the same request went to (a retry then goes
     * elsewhere when it can). When {@link PickResult#setCookieName()} is set, the response must carry
     * {@link #stickyCookie()}{@code .headerValue(pick, secure)}. Lock-free.
     */
    public PickResult pick(PickContext ctx) {
        return balancer.pick(ctx);
    }

    /** Where attempts to {@code endpoint} go, or null when it is not an endpoint of this cluster. */
    public UpstreamTarget target(EndpointState endpoint) {
        return targets.get(endpoint);
    }

    /**
     * An attempt on {@code endpoint} starts (before the connection is taken or opened): counts it in flight for the
     * load-aware policies. Exactly one {@link #onAttemptResult} must follow.
     */
    public void onAttemptStart(EndpointState endpoint) {
        endpoint.onRequestStart();
    }

    /**
     * An attempt started with {@link #onAttemptStart} ended (its response completed, it failed, or it was abandoned;
     * see {@link Outcome} for the classification): updates the endpoint's in-flight count and latency
     * ({@code EndpointState.onRequestEnd}) and tells outlier detection (unless the outcome is
     * {@link Outcome#CANCELLED}). Lock-free.
     *
     * @param latencyNanos from the attempt's start to its response head, or to the failure when no head came
     */
    public void onAttemptResult(EndpointState endpoint, Outcome outcome, long latencyNanos) {
        endpoint.onRequestEnd(latencyNanos, outcome.isFailure());
        OutlierDetector.Outcome o = outcome.outlierOutcome();
        if (o != null) {
            if (outlier != null) {
                outlier.onResult(endpoint, o);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------- views

    public String name() {
        return name;
    }

    public ClusterConfig config() {
        return config;
    }

    /** The endpoint states, in configuration order. */
    public List<EndpointState> endpoints() {
        return endpoints;
    }

    /** Every endpoint's health, in configuration order, for the admin API. */
    public HealthSnapshot healthSnapshot() {
        return health.snapshot();
    }

    public ClusterBalancer balancer() {
        return balancer;
    }

    public RetryPolicy retryPolicy() {
        return retryPolicy;
    }

    public RetryBudget retryBudget() {
        return retryBudget;
    }

    public CircuitBreaker circuitBreaker() {
        return circuitBreaker;
    }

    public StageTimeouts timeouts() {
        return timeouts;
    }

    /** The sticky cookie's attributes, or null when the policy is not {@code sticky}. */
    public StickyCookie stickyCookie() {
        return stickyCookie;
    }

    /**
     * The cluster's connection-pool settings ({@code timeouts.connect}, {@code pool.max_idle},
     * {@code pool.idle_timeout}) for the {@code ConnectionPools} phase B attaches to this runtime.
     */
    public PoolConfig poolConfig() {
        return poolConfig;
    }

    /**
     * The cluster's connections: one pool per (event loop, endpoint), shared by every route that proxies to this
     * cluster. Closing the runtime closes the idle connections; those in use close when their exchange ends.
     */
    public ConnectionPools pools() {
        return pools;
    }

    /**
     * The pool of {@code loop} for {@code target}: a TCP endpoint's, or a Unix socket's (connected with the domain
     * socket channel of the loop's transport). Must be called on {@code loop}.
     */
    public ConnectionPool pool(EventLoop loop, UpstreamTarget target, ByteBufAllocator alloc) {
        return switch (target) {
            case UpstreamTarget.Tcp t -> pools.pool(loop, t.endpoint(), alloc);
            case UpstreamTarget.Unix u -> pools.pool(loop, u.key(), alloc, () -> directTargets.get(u.key()));
        };
    }

    /** How often host names are resolved again ({@code dns_refresh}): the TTL of the pools' name cache. */
    public Duration dnsRefresh() {
        return config.dnsRefresh();
    }

    /** Whether active health checks run (for some endpoints at least). */
    public boolean hasActiveChecks() {
        return checker != null;
    }

    /** Whether outlier detection is on. */
    public boolean hasOutlierDetection() {
        return outlier != null;
    }

    /** Whether {@code endpoint} is ejected by outlier detection now. */
    public boolean isEjected(EndpointState endpoint) {
        return outlier != null && outlier.isEjected(endpoint);
    }

    // ---------------------------------------------------------------------------------------------- operators

    /**
     * The endpoint written {@code address} in the configuration: {@code host:port} (IPv6 in brackets) or
     * {@code unix:/path}; null when the cluster has none.
     */
    public EndpointState endpoint(String address) {
        for (EndpointState s : endpoints) {
            UpstreamTarget t = targets.get(s);
            String written = t instanceof UpstreamTarget.Unix u ? "unix:" + u.path() : s.endpoint().authority();
            if (written.equals(address) || s.endpoint().authority().equals(address)) {
                return s;
            }
        }
        return null;
    }

    /** How {@code endpoint} is written in the configuration (the admin API names endpoints so). */
    public String address(EndpointState endpoint) {
        return targets.get(endpoint) instanceof UpstreamTarget.Unix u ? "unix:" + u.path()
                : endpoint.endpoint().authority();
    }

    /**
     * An operator takes {@code endpoint} out of service: it gets no new request (not even in panic mode), and those in
     * flight finish. It stays so, across reloads that keep the cluster, until {@link #enable}.
     *
     * @return whether its health changed
     */
    public boolean drain(EndpointState endpoint) {
        boolean changed = endpoint.markDraining();
        if (changed) {
            LOG.atInfo().addKeyValue("event", "endpoint_draining").addKeyValue("cluster", name)
                    .addKeyValue("endpoint", address(endpoint))
                    .log("cluster {}: endpoint {} is draining (operator): no new requests, those in flight finish",
                            name, address(endpoint));
        }
        return changed;
    }

    /**
     * Puts {@code endpoint} back in service after {@link #drain} (or an operator's DOWN); the health checks' and
     * outlier detection's verdicts apply again at once, so an endpoint that fails its check goes down again.
     *
     * @return whether its health changed
     */
    public boolean enable(EndpointState endpoint) {
        Health before = endpoint.health();
        endpoint.markUp();
        health.reapply(endpoint);
        Health after = endpoint.health();
        if (before != after) {
            LOG.atInfo().addKeyValue("event", "endpoint_enabled").addKeyValue("cluster", name)
                    .addKeyValue("endpoint", address(endpoint)).addKeyValue("health", after.name().toLowerCase(Locale.ROOT))
                    .log("cluster {}: endpoint {} enabled by an operator; now {}", name, address(endpoint),
                            after.name().toLowerCase(Locale.ROOT));
        }
        return before != after;
    }

    @Override
    public String toString() {
        return "ClusterRuntime{" + name + ", " + config.loadBalancing().policy() + ", " + endpoints.size()
                + " endpoints" + (checker != null ? ", active checks" : "")
                + (hasOutlierDetection() ? ", outlier detection" : "") + "}";
    }
}
