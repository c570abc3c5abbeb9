package dev.turnpike.http2;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.ArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The timeouts of a connection's streams (a response stuck behind the client's window, a request body that
 * stopped), checked by one periodic sweep while some stream has something to time, rather than a task scheduled
 * per stream: scheduling one per request cost about a tenth of the event loop. A timeout is noticed within one
 * tick of its deadline. Runs on the connection's event loop only.
 */
final class StreamTimers implements Runnable {
    private final long tickNanos;
    private final ArrayList<Http2StreamTransport> streams = new ArrayList<>();
    private EventExecutor executor;
    private ScheduledFuture<?> timer;

    StreamTimers(long shortestTimeoutNanos) {
        this.tickNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(10), shortestTimeoutNanos / 8);
    }

    /** Starts checking {@code stream} (again) until its {@link Http2StreamTransport#checkTimeouts} says done. */
    void watch(Http2StreamTransport stream, EventExecutor executor) {
        if (stream.timerIndex >= 0) {
            return;
        }
        stream.timerIndex = streams.size();
        streams.add(stream);
        if (timer == null) {
            this.executor = executor;
            timer = executor.schedule(this, tickNanos, TimeUnit.NANOSECONDS);
        }
    }

    void unwatch(Http2StreamTransport stream) {
        int i = stream.timerIndex;
        if (i < 0) {
            return;
        }
        stream.timerIndex = -1;
        Http2StreamTransport last = streams.removeLast();
        if (last != stream) {
            streams.set(i, last);
            last.timerIndex = i;
        }
    }

    @Override
    public void run() {
        timer = null;
        long now = System.nanoTime();
        // Backwards: a stream removed here is replaced by the last one, which was already checked.
        for (int i = streams.size() - 1; i >= 0; i--) {
            if (i >= streams.size()) {
                continue;
            }
            Http2StreamTransport s = streams.get(i);
            if (!s.checkTimeouts(now)) {
                unwatch(s);
            }
        }
        if (!streams.isEmpty()) {
            timer = executor.schedule(this, tickNanos, TimeUnit.NANOSECONDS);
        }
    }

    void close() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        for (Http2StreamTransport s : streams) {
            s.timerIndex = -1;
        }
        streams.clear();
    }
}
