package dev.turnpike.upstream.health;

import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.lb.Health;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The health of a cluster's endpoints at one moment ({@link ClusterHealth#snapshot()}), for the admin API and for
 * tests. Immutable.
 *
 * @param cluster        the cluster's name
 * @param takenAt        wall-clock time of the snapshot
 * @param activeChecks   whether an {@link ActiveHealthChecker} is running for the cluster
 * @param outlierDetection whether an {@link OutlierDetector} is attached
 * @param endpoints      one view per endpoint, in membership order
 */
public record HealthSnapshot(String cluster, Instant takenAt, boolean activeChecks, boolean outlierDetection,
                             List<EndpointView> endpoints) {

    public HealthSnapshot {
        endpoints = List.copyOf(endpoints);
    }

    /** The active check's verdict on an endpoint. */
    public enum Check {
        /** No active check runs for the cluster. */
        OFF,
        /** Not checked yet; the endpoint keeps the health it had (up), and the first result decides either way. */
        UNKNOWN,
        /** Held down until a first check passes. */
        PENDING,
        UP,
        DOWN
    }

    /** The view of one endpoint, or null when it is not (or no longer) a member. */
    public EndpointView find(Endpoint endpoint) {
        for (EndpointView v : endpoints) {
            if (v.endpoint().equals(endpoint)) {
                return v;
            }
        }
        return null;
    }

    /**
     * @param endpoint                   the endpoint
     * @param backup                     whether it is a backup
     * @param health                     its health as the balancer sees it
     * @param reason                     why it is down (both sources' reasons when both hold it down), or null
     * @param since                      when its health last changed (wall clock, derived from the monotonic clock)
     * @param inStateFor                 how long it has had this health
     * @param check                      the active check's verdict
     * @param lastCheck                  the outcome of the last active check: "ok", a failure reason, or null before
     *                                   the first
     * @param checkSuccesses             consecutive passed checks
     * @param checkFailures              consecutive failed checks
     * @param consecutive5xx             5xx responses in a row seen by the outlier detector
     * @param consecutiveConnectFailures connect failures in a row seen by the outlier detector
     * @param ejected                    whether the outlier detector ejected it
     * @param ejectionRemaining          time left of the current ejection (zero when not ejected)
     * @param ejectionCount              ejections that still lengthen the next one (decays while healthy)
     * @param totalEjections             ejections since the endpoint joined
     */
    public record EndpointView(Endpoint endpoint, boolean backup, Health health, String reason, Instant since,
                               Duration inStateFor, Check check, String lastCheck, int checkSuccesses,
                               int checkFailures, int consecutive5xx, int consecutiveConnectFailures, boolean ejected,
                               Duration ejectionRemaining, int ejectionCount, long totalEjections) {}
}
