package dev.turnpike.upstream.lb;

import java.time.Duration;
import java.util.Objects;

/**
 * Tuning shared by the {@link EndpointState}s of a cluster.
 *
 * @param ticker             the clock of slow start and of the latency EWMA
 * @param ewmaDecay          the time constant (tau) of the latency EWMA: an old sample's influence falls to 1/e
 *                           after this long
 * @param slowStartWindow    how long an endpoint that returns to service (or joins a running cluster) ramps its
 *                           weight up; zero disables slow start
 * @param slowStartAggression 1.0 ramps linearly; above 1 the ramp is front-loaded (more traffic early), below 1
 *                           back-loaded. The weight factor is {@code max(minWeight, t^(1/aggression))} with
 *                           {@code t} the elapsed fraction of the window (Envoy's formula)
 * @param slowStartMinWeight the factor a returning endpoint starts at (0.1 = 10% of its weight), in (0, 1]
 * @param failurePenalty     the latency recorded for a failed request when it took less (a fast failure must not
 *                           look like a fast endpoint to latency-aware policies)
 */
public record EndpointSettings(Ticker ticker, Duration ewmaDecay, Duration slowStartWindow,
                               double slowStartAggression, double slowStartMinWeight, Duration failurePenalty) {

    /** System clock, 10 s EWMA decay, no slow start, 1 s failure penalty. */
    public static final EndpointSettings DEFAULTS = new EndpointSettings(Ticker.SYSTEM, Duration.ofSeconds(10),
            Duration.ZERO, 1.0, 0.1, Duration.ofSeconds(1));

    public EndpointSettings {
        Objects.requireNonNull(ticker, "ticker");
        Objects.requireNonNull(ewmaDecay, "ewmaDecay");
        Objects.requireNonNull(slowStartWindow, "slowStartWindow");
        Objects.requireNonNull(failurePenalty, "failurePenalty");
        if (ewmaDecay.isNegative() || ewmaDecay.isZero()) {
            throw new IllegalArgumentException("ewmaDecay must be positive, got " + ewmaDecay);
        }
        if (slowStartWindow.isNegative()) {
            throw new IllegalArgumentException("slowStartWindow must not be negative, got " + slowStartWindow);
        }
        if (!(slowStartAggression > 0) || Double.isInfinite(slowStartAggression)) {
            throw new IllegalArgumentException("slowStartAggression must be positive, got " + slowStartAggression);
        }
        if (!(slowStartMinWeight > 0 && slowStartMinWeight <= 1)) {
            throw new IllegalArgumentException("slowStartMinWeight must be in (0, 1], got " + slowStartMinWeight);
        }
        if (failurePenalty.isNegative()) {
            throw new IllegalArgumentException("failurePenalty must not be negative, got " + failurePenalty);
        }
    }

    public EndpointSettings withTicker(Ticker t) {
        return new EndpointSettings(t, ewmaDecay, slowStartWindow, slowStartAggression, slowStartMinWeight,
                failurePenalty);
    }

    public EndpointSettings withEwmaDecay(Duration d) {
        return new EndpointSettings(ticker, d, slowStartWindow, slowStartAggression, slowStartMinWeight,
                failurePenalty);
    }

    public EndpointSettings withSlowStart(Duration window, double aggression, double minWeight) {
        return new EndpointSettings(ticker, ewmaDecay, window, aggression, minWeight, failurePenalty);
    }

    public EndpointSettings withFailurePenalty(Duration d) {
        return new EndpointSettings(ticker, ewmaDecay, slowStartWindow, slowStartAggression, slowStartMinWeight, d);
    }
}
