package dev.turnpike.upstream.lb;

import dev.turnpike.upstream.Endpoint;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * One endpoint of a cluster at runtime: the {@link Endpoint} (the pool key), its configured weight and backup flag,
 * its health, its load (in-flight requests and long-lived connections), a latency EWMA, and slow start. One instance
 * per (cluster, endpoint); identity matters (equality is identity), the {@code Endpoint} is the value.
 *
 * <p>Thread-safety: every method may be called from any thread. The per-request methods ({@link #onRequestStart},
 * {@link #onRequestEnd}, the counters, {@link #slowStartFactor()}, {@link #health()}) are lock-free and allocation
 * free. Health transitions are rare and serialised on the instance; the {@link HealthListener} is told after the
 * change, outside the lock.
 *
 * <p>Usage contract: whoever sends a request to the endpoint calls {@link #onRequestStart()} once and then
 * {@link #onRequestEnd} exactly once (also on failure, timeout or cancellation), so that {@link #inFlight()} returns
 * to zero; a long-lived connection (a WebSocket after its upgrade) calls {@link #onConnectionOpen()} /
 * {@link #onConnectionClose()}. Load-aware policies use {@link #load()}, the sum of both.
 */
public final class EndpointState {

    public static final int MIN_WEIGHT = 1;
    public static final int MAX_WEIGHT = 1000;

    private static final long NOT_WARMING = Long.MIN_VALUE;

    // The latency EWMA is one long so that it is updated with a single CAS: the cost (a non-negative float in
    // nanoseconds, minus its sign bit and 7 low mantissa bits: ~5 significant digits) in the high 24 bits and the
    // time of the last sample in the low 40 bits, in units of 2^10 ns (~1 us; the stamp wraps after ~13 days, and
    // differences are read modulo 2^40, so only an endpoint without a response for over 6 days decays wrongly).
    private static final int STAMP_BITS = 40;
    private static final int STAMP_SHIFT = 10;
    private static final long STAMP_MASK = (1L << STAMP_BITS) - 1;

    private static final VarHandle IN_FLIGHT;
    private static final VarHandle CONNECTIONS;
    private static final VarHandle EWMA;
    private static final VarHandle WARMING_SINCE;
    private static final VarHandle CONSECUTIVE_FAILURES;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            IN_FLIGHT = l.findVarHandle(EndpointState.class, "inFlight", int.class);
            CONNECTIONS = l.findVarHandle(EndpointState.class, "connections", int.class);
            EWMA = l.findVarHandle(EndpointState.class, "ewma", long.class);
            WARMING_SINCE = l.findVarHandle(EndpointState.class, "warmingSince", long.class);
            CONSECUTIVE_FAILURES = l.findVarHandle(EndpointState.class, "consecutiveFailures", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Endpoint endpoint;
    private final int weight;
    private final boolean backup;
    private final EndpointSettings settings;
    private final Ticker ticker;
    private final double tauNanos;
    private final long slowStartWindowNanos;
    private final long failurePenaltyNanos;

    private volatile Health health;
    private volatile String downReason;
    private volatile long healthSinceNanos;
    private volatile HealthListener listener;

    private volatile int inFlight;
    private volatile int connections;
    private volatile long ewma;
    private volatile long warmingSince = NOT_WARMING;
    private volatile int consecutiveFailures;
    private final LongAdder requests = new LongAdder();
    private final LongAdder failures = new LongAdder();

    /** The results a plain pick of this endpoint returns (preallocated: picking allocates nothing). */
    final PickResult result;
    final PickResult panicResult;

    /** An up primary with the default settings. */
    public EndpointState(Endpoint endpoint, int weight) {
        this(endpoint, weight, false, EndpointSettings.DEFAULTS);
    }

    /** Starts {@link Health#UP}. */
    public EndpointState(Endpoint endpoint, int weight, boolean backup, EndpointSettings settings) {
        this(endpoint, weight, backup, settings, Health.UP, null);
    }

    /**
     * @param initialHealth {@code DOWN} when active health checks must pass before the endpoint takes traffic
     *                      (its first {@link #markUp()} then starts slow start)
     */
    public EndpointState(Endpoint endpoint, int weight, boolean backup, EndpointSettings settings,
                         Health initialHealth, String initialReason) {
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
        if (weight < MIN_WEIGHT || weight > MAX_WEIGHT) {
            throw new IllegalArgumentException("weight must be between " + MIN_WEIGHT + " and " + MAX_WEIGHT
                    + ", got " + weight + " for " + endpoint);
        }
        this.weight = weight;
        this.backup = backup;
        this.settings = Objects.requireNonNull(settings, "settings");
        this.ticker = settings.ticker();
        this.tauNanos = settings.ewmaDecay().toNanos();
        this.slowStartWindowNanos = settings.slowStartWindow().toNanos();
        this.failurePenaltyNanos = settings.failurePenalty().toNanos();
        this.health = Objects.requireNonNull(initialHealth, "initialHealth");
        this.downReason = initialHealth == Health.DOWN ? Objects.requireNonNullElse(initialReason, "initial") : null;
        this.healthSinceNanos = ticker.nanoTime();
        this.result = new PickResult(this, false, null, null);
        this.panicResult = new PickResult(this, true, null, null);
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    /** The configured weight, 1..1000. A weight change is a membership change: build a new state. */
    public int weight() {
        return weight;
    }

    /** Backups take requests only while no primary is up. */
    public boolean isBackup() {
        return backup;
    }

    public EndpointSettings settings() {
        return settings;
    }

    public Ticker ticker() {
        return ticker;
    }

    // ---------------------------------------------------------------- health

    public Health health() {
        return health;
    }

    public boolean isUp() {
        return health == Health.UP;
    }

    public boolean isDraining() {
        return health == Health.DRAINING;
    }

    /** Why the endpoint is down (as given to {@link #markDown}), or null when it is not. */
    public String downReason() {
        return downReason;
    }

    /** The {@link Ticker} time of the last health change (or of creation). */
    public long healthSinceNanos() {
        return healthSinceNanos;
    }

    /**
     * Puts the endpoint in service. Coming back from {@link Health#DOWN} starts slow start (when configured); coming
     * back from {@link Health#DRAINING} does not (it never left service for its existing work).
     *
     * @return whether the health changed
     */
    public boolean markUp() {
        return transition(Health.UP, null);
    }

    /** @return whether the health changed (a new reason alone is recorded but is not a change) */
    public boolean markDown(String reason) {
        return transition(Health.DOWN, Objects.requireNonNull(reason, "reason"));
    }

    /** Takes no new requests from now on (a removal or a deploy in progress); in-flight ones finish. */
    public boolean markDraining() {
        return transition(Health.DRAINING, null);
    }

    private boolean transition(Health to, String reason) {
        Health from;
        synchronized (this) {
            from = health;
            downReason = reason;
            if (from == to) {
                return false;
            }
            health = to;
            healthSinceNanos = ticker.nanoTime();
            if (to == Health.UP && from == Health.DOWN) {
                startSlowStart();
            }
        }
        HealthListener l = listener;
        if (l != null) {
            l.healthChanged(this, from, to);
        }
        return true;
    }

    /** The one listener told of health changes (its cluster), or null to detach. */
    public void healthListener(HealthListener l) {
        this.listener = l;
    }

    HealthListener healthListener() {
        return listener;
    }

    // ---------------------------------------------------------------- load and outcomes

    /** A request was sent (or is about to be) to this endpoint. */
    public void onRequestStart() {
        IN_FLIGHT.getAndAdd(this, 1);
        requests.increment();
    }

    /**
     * A request started with {@link #onRequestStart()} ended.
     *
     * @param latencyNanos time to the response (headers) or to the failure
     * @param failure      a connect failure, timeout, reset or 5xx the caller counts as a failure; its latency is
     *                     raised to the failure penalty so that fast failures do not attract traffic
     */
    public void onRequestEnd(long latencyNanos, boolean failure) {
        IN_FLIGHT.getAndAdd(this, -1);
        if (failure) {
            failures.increment();
            CONSECUTIVE_FAILURES.getAndAdd(this, 1);
            recordLatency(Math.max(latencyNanos, failurePenaltyNanos));
        } else {
            if (consecutiveFailures != 0) {
                consecutiveFailures = 0;
            }
            recordLatency(latencyNanos);
        }
    }

    /** A long-lived connection (a WebSocket, a tunnel) to this endpoint opened. */
    public void onConnectionOpen() {
        CONNECTIONS.getAndAdd(this, 1);
    }

    public void onConnectionClose() {
        CONNECTIONS.getAndAdd(this, -1);
    }

    public int inFlight() {
        return inFlight;
    }

    public int activeConnections() {
        return connections;
    }

    /** In-flight requests plus long-lived connections: what load-aware policies compare. */
    public int load() {
        return inFlight + connections;
    }

    public int consecutiveFailures() {
        return consecutiveFailures;
    }

    public long totalRequests() {
        return requests.sum();
    }

    public long totalFailures() {
        return failures.sum();
    }

    // ---------------------------------------------------------------- latency EWMA

    /**
     * Records one latency sample into the peak EWMA (Finagle's): a sample above the current value replaces it at
     * once, a lower one is blended in with weight {@code 1 - exp(-dt/tau)} where dt is the time since the previous
     * sample. One CAS, no allocation.
     */
    public void recordLatency(long latencyNanos) {
        double rtt = Math.max(0, latencyNanos);
        long nowUnits = (ticker.nanoTime() >> STAMP_SHIFT) & STAMP_MASK;
        for (;;) {
            long cur = ewma;
            double cost = decodeCost(cur);
            double next;
            if (rtt >= cost) {
                next = rtt;
            } else {
                double w = Math.exp(-elapsedNanos(cur, nowUnits) / tauNanos);
                next = cost * w + rtt * (1 - w);
            }
            long packed = encodeCost(next) | nowUnits;
            if (EWMA.compareAndSet(this, cur, packed)) {
                return;
            }
        }
    }

    /**
     * The latency EWMA in nanoseconds, decayed towards zero for the time since the last sample (so that an endpoint
     * that was slow but has not been tried since gets probed again); 0 before the first sample.
     */
    public double latencyEwmaNanos() {
        return latencyEwmaNanos(ticker.nanoTime());
    }

    /** {@link #latencyEwmaNanos()} at {@code now} (a {@link #ticker()} reading). */
    public double latencyEwmaNanos(long now) {
        long cur = ewma;
        double cost = decodeCost(cur);
        if (cost == 0) {
            return 0;
        }
        return cost * Math.exp(-elapsedNanos(cur, (now >> STAMP_SHIFT) & STAMP_MASK) / tauNanos);
    }

    private static double elapsedNanos(long packed, long nowUnits) {
        long d = (nowUnits - (packed & STAMP_MASK)) << (64 - STAMP_BITS) >> (64 - STAMP_BITS);
        return d <= 0 ? 0 : (double) (d << STAMP_SHIFT);
    }

    private static double decodeCost(long packed) {
        return Float.intBitsToFloat((int) (packed >>> STAMP_BITS) << 7);
    }

    private static long encodeCost(double cost) {
        int bits = Float.floatToRawIntBits((float) Math.max(0, cost));
        return ((long) (bits >>> 7)) << STAMP_BITS;
    }

    // ---------------------------------------------------------------- slow start

    /**
     * Starts (or restarts) the slow-start ramp now; a no-op when the window is zero. Called on a return from
     * {@link Health#DOWN}, and by {@link ClusterBalancer} for an endpoint that joins a running cluster.
     */
    public void startSlowStart() {
        if (slowStartWindowNanos > 0) {
            long now = ticker.nanoTime();
            warmingSince = now == NOT_WARMING ? now + 1 : now;
        }
    }

    /** Whether the endpoint is still ramping up. */
    public boolean isWarming() {
        return slowStartFactor() < 1.0;
    }

    /**
     * The share of its weight the endpoint gets now: 1.0 outside slow start, else
     * {@code max(minWeight, t^(1/aggression))} with {@code t} the elapsed fraction of the window. Lock-free; reads
     * the clock only while warming.
     */
    public double slowStartFactor() {
        long since = warmingSince;
        if (since == NOT_WARMING) {
            return 1.0;
        }
        long elapsed = ticker.nanoTime() - since;
        if (elapsed >= slowStartWindowNanos) {
            WARMING_SINCE.compareAndSet(this, since, NOT_WARMING);
            return 1.0;
        }
        double t = Math.max(elapsed, 1L) / (double) slowStartWindowNanos;
        double aggression = settings.slowStartAggression();
        double f = aggression == 1.0 ? t : Math.pow(t, 1.0 / aggression);
        return Math.max(settings.slowStartMinWeight(), f);
    }

    /** {@link #weight()} scaled by {@link #slowStartFactor()}. */
    public double effectiveWeight() {
        return weight * slowStartFactor();
    }

    @Override
    public String toString() {
        return endpoint.authority() + "{w=" + weight + (backup ? ",backup" : "") + "," + health
                + (downReason != null ? "(" + downReason + ")" : "") + ",inflight=" + inFlight + "}";
    }
}
