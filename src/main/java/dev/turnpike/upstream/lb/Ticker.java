package dev.turnpike.upstream.lb;

/**
 * A monotonic nanosecond clock. Slow start and the latency EWMA read it; tests inject a manual one instead of
 * sleeping.
 */
@FunctionalInterface
public interface Ticker {

    /** {@link System#nanoTime()}. */
    Ticker SYSTEM = System::nanoTime;

    long nanoTime();
}
