package dev.turnpike.upstream.cluster;

import dev.turnpike.upstream.health.OutlierDetector;

/**
 * How one attempt on one endpoint ended, as reported to {@link ClusterRuntime#onAttemptResult}. It feeds two things:
 * the endpoint's load and latency ({@code EndpointState.onRequestEnd}, where {@link #isFailure()} raises a fast
 * failure's latency to the failure penalty) and, when configured, passive outlier detection
 * ({@link #outlierOutcome()}).
 *
 * <p>An attempt is reported once, when it ends: when its response is complete (so that a long response body still
 * counts as load for {@code least_connections}), or when it fails, or is abandoned. Classification for the proxy
 * (phase B):
 * <table>
 *   <caption>attempt endings</caption>
 *   <tr><th>what happened</th><th>outcome</th></tr>
 *   <tr><td>a response with a status below 500 (4xx included: the endpoint works) completed</td>
 *       <td>{@link #SUCCESS}</td></tr>
 *   <tr><td>a response with a 5xx status (complete, or dropped for a retry)</td><td>{@link #HTTP_5XX}</td></tr>
 *   <tr><td>the connect failed: refused, unreachable, connect timeout, name not resolved</td>
 *       <td>{@link #CONNECT_FAILURE}</td></tr>
 *   <tr><td>the connection broke or the response was invalid after the connect (before the head, or in the middle
 *       of the body)</td><td>{@link #RESET}</td></tr>
 *   <tr><td>the send, first-byte, idle or total timeout expired</td><td>{@link #TIMEOUT}</td></tr>
 *   <tr><td>the client went away, the attempt was abandoned for a local reason (pending timeout in our own pool,
 *       circuit breaker), or a pooled keep-alive connection turned out stale before any request byte went out
 *       (the upstream closed an idle connection: not a sign of sickness)</td><td>{@link #CANCELLED}</td></tr>
 * </table>
 *
 * <p>Latency: pass the time from the attempt's start ({@link ClusterRuntime#onAttemptStart}) to the response head (even
 * when reporting at the end of the body), or to the failure when no head came.
 */
public enum Outcome {
    SUCCESS(false, OutlierDetector.Outcome.SUCCESS),
    HTTP_5XX(true, OutlierDetector.Outcome.HTTP_5XX),
    CONNECT_FAILURE(true, OutlierDetector.Outcome.CONNECT_FAILURE),
    /** Counted as a 5xx by outlier detection: the proxy answers it with a 502 itself. */
    RESET(true, OutlierDetector.Outcome.HTTP_5XX),
    /** Counted as a 5xx by outlier detection: the proxy answers it with a 504 itself. */
    TIMEOUT(true, OutlierDetector.Outcome.HTTP_5XX),
    /** Ends the endpoint's in-flight count without blaming it: outlier detection is not told. */
    CANCELLED(false, null);

    private final boolean failure;
    private final OutlierDetector.Outcome outlier;

    Outcome(boolean failure, OutlierDetector.Outcome outlier) {
        this.failure = failure;
        this.outlier = outlier;
    }

    /** Whether the endpoint failed (its latency sample is raised to the failure penalty). */
    public boolean isFailure() {
        return failure;
    }

    /** What outlier detection hears, or null when it hears nothing. */
    public OutlierDetector.Outcome outlierOutcome() {
        return outlier;
    }

    /** {@link #SUCCESS} below 500, {@link #HTTP_5XX} from 500 on. */
    public static Outcome ofStatus(int status) {
        return status >= 500 ? HTTP_5XX : SUCCESS;
    }

    /**
     * The outcome of an attempt that failed as {@code kind} says (the retry classification): a status gives
     * {@link #ofStatus}; a reset before any request byte gives {@link #RESET} (report {@link #CANCELLED} instead when
     * the connection was a reused keep-alive one, see the class comment).
     */
    public static Outcome of(RetryPolicy.FailureKind kind, int status) {
        return switch (kind) {
            case CONNECT_FAILURE -> CONNECT_FAILURE;
            case RESET_BEFORE_REQUEST_SENT, RESET_AFTER_SENT -> RESET;
            case TIMEOUT -> TIMEOUT;
            case STATUS -> ofStatus(status);
        };
    }
}
