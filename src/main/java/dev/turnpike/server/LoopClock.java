package dev.turnpike.server;

import io.netty.util.concurrent.FastThreadLocal;

/**
 * The monotonic time of the event-loop callback in progress. A handler that takes a read opens a {@link #callback}
 * for it; the clock is read once there, and everything the callback does (an exchange started or ended, a timeout
 * armed, a pooled connection taken or returned) uses that reading, as nginx and HAProxy read the clock once per
 * loop iteration. A proxied request otherwise reads the clock about ten times, a measurable share of its CPU. A
 * callback lasts microseconds, which is all the error this adds to a timeout or a duration.
 *
 * <p>Outside a callback, and on any other thread, {@link #nanoTime()} is {@link System#nanoTime()}.
 */
public final class LoopClock {
    private static final FastThreadLocal<LoopClock> CURRENT = new FastThreadLocal<>() {
        @Override
        protected LoopClock initialValue() {
            return new LoopClock();
        }
    };

    private long now;
    /** Callbacks open on this thread: one inside another (a read that completes a write) keeps the first reading. */
    private int depth;

    private LoopClock() {
    }

    /** The time of the callback in progress on this thread, or the system's monotonic time when none is. */
    public static long nanoTime() {
        LoopClock c = CURRENT.get();
        return c.depth > 0 ? c.now : System.nanoTime();
    }

    /** Opens a callback on this thread; close it with {@link #end} in a finally block. */
    public static LoopClock callback() {
        LoopClock c = CURRENT.get();
        if (c.depth++ == 0) {
            c.now = System.nanoTime();
        }
        return c;
    }

    /** Closes the callback {@link #callback} opened. */
    public void end() {
        depth--;
    }
}
