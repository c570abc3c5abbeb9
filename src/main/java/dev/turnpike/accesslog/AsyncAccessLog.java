package dev.turnpike.accesslog;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Formats and writes entries on a thread of its own. Event loops only offer to a bounded queue: when the
 * disk cannot keep up, entries are dropped and counted (and the count reported) instead of stalling requests.
 */
final class AsyncAccessLog implements AccessLog {
    private static final Logger LOG = LoggerFactory.getLogger(AsyncAccessLog.class);

    private final OutputStream out;
    private final boolean closeStream;
    private final AccessLogFormat format;
    private final ArrayBlockingQueue<AccessLogEntry> queue;
    private final LongAdder dropped = new LongAdder();
    private final Thread writer;
    private volatile boolean closed;

    AsyncAccessLog(OutputStream out, boolean closeStream, AccessLogFormat format, int capacity) {
        this.out = out;
        this.closeStream = closeStream;
        this.format = format;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.writer = Thread.ofPlatform().name("turnpike-access-log").daemon(true).start(this::run);
    }

    @Override
    public void log(AccessLogEntry entry) {
        if (!queue.offer(entry)) {
            dropped.increment();
        }
    }

    long dropped() {
        return dropped.sum();
    }

    private void run() {
        List<AccessLogEntry> batch = new ArrayList<>(256);
        StringBuilder sb = new StringBuilder(16 * 1024);
        while (true) {
            try {
                AccessLogEntry first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    if (closed) {
                        break;
                    }
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, 1023);
                for (AccessLogEntry e : batch) {
                    format.append(sb, e);
                    sb.append('\n');
                }
                out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
                if (queue.isEmpty()) {
                    out.flush();
                }
                long lost = dropped.sumThenReset();
                if (lost > 0) {
                    LOG.warn("access log could not keep up: {} entries dropped", lost);
                }
            } catch (InterruptedException e) {
                break;
            } catch (IOException | RuntimeException e) {
                LOG.warn("writing the access log failed: {}", e.toString());
            } finally {
                batch.clear();
                sb.setLength(0);
            }
        }
        try {
            out.flush();
            if (closeStream) {
                out.close();
            }
        } catch (IOException e) {
            LOG.warn("closing the access log failed: {}", e.toString());
        }
    }

    /** Writes what is queued, then stops the writer. */
    @Override
    public void close() {
        closed = true;
        try {
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
