package dev.turnpike.server;

import dev.turnpike.http.Exchange;
import dev.turnpike.http.ExchangeTracker;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts a snapshot's exchanges in flight, so that a reload retires it when the last one is over. One plain counter
 * per event loop, touched only by its loop: starting and ending an exchange costs a map read and an increment, with
 * no write shared between loops.
 *
 * <p>Why that is enough: an exchange takes the current snapshot and counts itself in one task on its loop. Retiring
 * happens after the new snapshot is in place, and then sends each loop a task that looks at its counter; a loop runs
 * its tasks one at a time, so an exchange that took the old snapshot has already counted itself when that task runs,
 * and no exchange of that loop can take the old snapshot after it. A loop whose counter is zero then (or falls to
 * zero later) is done; when every loop is done, the snapshot is idle.
 */
final class InFlight implements ExchangeTracker {
    private static final class Loop {
        int exchanges;
        boolean done;
    }

    private final Map<EventExecutor, Loop> loops = new IdentityHashMap<>();
    private final AtomicInteger busyLoops = new AtomicInteger();
    private Runnable onIdle;
    private volatile boolean retired;

    /** @param group the loops exchanges run on; null for none (retiring is then immediate) */
    InFlight(EventLoopGroup group) {
        if (group != null) {
            for (EventExecutor e : group) {
                loops.put(e, new Loop());
            }
        }
    }

    @Override
    public void started(Exchange exchange) {
        Loop l = loops.get(exchange.eventLoop());
        if (l != null) {
            l.exchanges++;
        }
    }

    @Override
    public void ended(Exchange exchange) {
        Loop l = loops.get(exchange.eventLoop());
        if (l != null && --l.exchanges == 0 && retired) {
            done(l);
        }
    }

    /** Exchanges in flight now; racy across loops, for reports only. */
    int count() {
        int n = 0;
        for (Loop l : loops.values()) {
            n += l.exchanges;
        }
        return n;
    }

    /** No exchange can start on this snapshot any more: runs {@code idle} once the last one is over. Once. */
    void retire(Runnable idle) {
        onIdle = idle;
        busyLoops.set(loops.size() + 1);
        retired = true;
        loops.forEach((executor, l) -> {
            try {
                executor.execute(() -> {
                    if (l.exchanges == 0) {
                        done(l);
                    }
                });
            } catch (RejectedExecutionException e) {
                done(l); // the loop is shutting down: its connections are being closed
            }
        });
        countDown();
    }

    /** On {@code l}'s loop (or when it is gone). */
    private void done(Loop l) {
        if (!l.done) {
            l.done = true;
            countDown();
        }
    }

    private void countDown() {
        if (busyLoops.decrementAndGet() == 0) {
            onIdle.run();
        }
    }
}
