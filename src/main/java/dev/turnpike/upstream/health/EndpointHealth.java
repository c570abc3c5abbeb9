package dev.turnpike.upstream.health;

import dev.turnpike.upstream.lb.EndpointState;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What the health machinery knows about one endpoint of a {@link ClusterHealth}, next to its {@link EndpointState}:
 * the verdict of each source (active check, outlier detection) and their counters. The state's health is derived
 * from the two verdicts by {@link ClusterHealth#apply}.
 *
 * <p>Threading: the active-check fields are written only by the checker's event loop and read by anyone (volatile);
 * the outlier counters are updated lock-free from any thread; the ejection fields change under the detector's lock;
 * the combination ({@link #appliedReason}) under this object's monitor.
 */
final class EndpointHealth {

    static final VarHandle C5XX;
    static final VarHandle CCONNECT;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            C5XX = l.findVarHandle(EndpointHealth.class, "consecutive5xx", int.class);
            CCONNECT = l.findVarHandle(EndpointHealth.class, "consecutiveConnectFailures", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final EndpointState state;

    /** Cleared when the endpoint leaves the cluster: its health is then nobody's business here. */
    volatile boolean member = true;

    // ------------------------------------------------------------ active check (written on the checker's loop)
    volatile HealthSnapshot.Check verdict = HealthSnapshot.Check.UNKNOWN;
    /** Why the active check holds the endpoint down, or null. */
    volatile String activeReason;
    volatile int checkSuccesses;
    volatile int checkFailures;
    /** The outcome of the last check: null before the first, "ok" or a failure reason. */
    volatile String lastCheck;

    // ------------------------------------------------------------ outlier detection
    volatile int consecutive5xx;
    volatile int consecutiveConnectFailures;
    /** Why the detector holds the endpoint down (ejected), or null. Changes under the detector's lock. */
    volatile String ejectionReason;
    volatile long ejectedAt;
    volatile long ejectedUntil;
    /** Identifies one ejection, so that a stale restore timer does nothing. */
    long ejectionId;
    /** Ejections that still count towards the next ejection time (decays while the endpoint is not ejected). */
    volatile int ejectionCount;
    volatile long totalEjections;
    /** Ticker time the last ejection ended (or the count last decayed). */
    volatile long decayFrom;

    // ------------------------------------------------------------ combination (under this monitor)
    /** The reason last passed to {@link EndpointState#markDown} by us, or null: a DOWN with another reason is not ours. */
    String appliedReason;

    EndpointHealth(EndpointState state) {
        this.state = state;
    }

    boolean ejected() {
        return ejectionReason != null;
    }
}
