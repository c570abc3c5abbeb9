package dev.turnpike.staticfiles;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * nginx's open_file_cache for one static route on one event loop: for a request path that was last served as
 * a regular file, the open descriptor (or, for a small file, its bytes) and the file's metadata, so that the
 * next request for it is answered on the event loop with no thread hop and no file-system call but sendfile.
 *
 * <p>Freshness: an entry lives at most {@link FileLookup#VALIDITY} after the stat it was built from, like
 * every other cached file-system fact; and a change to the file (content, size, times, permissions, deletion)
 * or to its directory's names drops it at once, through {@link FileEvents} (inotify). Cache hits are answered
 * in a task that runs after the loop iteration's reads ({@link #afterReads}) and first drains the change queue,
 * so every request it answers was read before that drain: a file changed before a request arrived is never
 * served from a stale entry, and the queue is read once per iteration rather than once per request.
 *
 * <p>Bounds: {@link #MAX_ENTRIES} entries (open descriptors) and {@link #CONTENT_BUDGET} bytes of small files;
 * entries past their validity are dropped by a sweep every {@link FileLookup#VALIDITY}.
 *
 * <p>Threads: entries are built on the blocking executor ({@link #seq()} then watches, stat and open, in that
 * order) and handed to the event loop, which alone reads and changes the map. An entry whose watches saw an
 * event (or were removed) after its build began is not kept.
 */
final class OpenFileCache {
    static final int MAX_ENTRIES = 1_000;
    /** Files up to this size are kept as bytes rather than as a descriptor: head and body then go in one write. */
    static final int SMALL_FILE = 16 * 1024;
    /** Bytes of small files kept at most (per route and event loop); beyond, they are kept as descriptors. */
    static final long CONTENT_BUDGET = 4L * 1024 * 1024;
    private static final int RECENT = 64;

    /** What a cached file is answered with; immutable, except that the cache holds one reference to the file. */
    static final class Entry {
        final String key;
        final OpenFile file;
        final long size;
        final long mtimeSecs;
        final String etag;
        final String lastModified;
        final String contentType;
        final int fileWd;
        final int dirWd;
        final long seqBefore;
        final long expiresAt;

        Entry(String key, OpenFile file, long size, long mtimeSecs, String etag, String lastModified,
              String contentType, int fileWd, int dirWd, long seqBefore, long expiresAt) {
            this.key = key;
            this.file = file;
            this.size = size;
            this.mtimeSecs = mtimeSecs;
            this.etag = etag;
            this.lastModified = lastModified;
            this.contentType = contentType;
            this.fileWd = fileWd;
            this.dirWd = dirWd;
            this.seqBefore = seqBefore;
            this.expiresAt = expiresAt;
        }
    }

    private final EventLoop loop;
    private final FileEvents events;
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
    /** The kept entries that depend on each watch: an event finds them without a scan, and the last one out unwatches. */
    private final Map<Integer, List<Entry>> byWatch = new HashMap<>();
    /** Events drained and watches removed so far; written on the loop only. */
    private volatile long seq;
    private final long[] recentSeq = new long[RECENT];
    private final int[] recentWd = new int[RECENT];
    private final Runnable sweeper = this::sweep;
    private final java.util.ArrayDeque<Runnable> deferred = new java.util.ArrayDeque<>();
    private final Runnable runDeferred = this::runDeferred;
    private boolean deferredScheduled;
    private ScheduledFuture<?> sweep;
    private volatile boolean closed;
    private final AtomicLong contentBytes = new AtomicLong();

    private OpenFileCache(EventLoop loop, FileEvents events) {
        this.loop = loop;
        this.events = events;
    }

    /** A cache for {@code loop}, or null when changes cannot be watched (then nothing is cached). */
    static OpenFileCache create(EventLoop loop) {
        FileEvents events = FileEvents.open();
        return events == null ? null : new OpenFileCache(loop, events);
    }

    EventLoop loop() {
        return loop;
    }

    boolean isClosed() {
        return closed;
    }

    // ---- blocking executor: building an entry -----------------------------------------------------------------

    /** Read before adding the watches of an entry being built. */
    long seq() {
        return seq;
    }

    /** Watches a file or directory for an entry being built; -1 when it cannot be watched. Blocking. */
    int watch(Path path, int mask) {
        return closed ? -1 : events.watch(path, mask);
    }

    /**
     * The whole of a small file read from {@code ch} (which the caller still owns) when the budget allows, else
     * null. Blocking. A change during the read is reported by the watches, so the entry is not kept.
     */
    OpenFile readSmall(FileChannel ch, long size) throws IOException {
        if (size <= 0 || size > SMALL_FILE) {
            return null;
        }
        if (contentBytes.addAndGet(size) > CONTENT_BUDGET) {
            contentBytes.addAndGet(-size);
            return null;
        }
        ByteBuf buf = Unpooled.directBuffer((int) size, (int) size);
        boolean done = false;
        try {
            long position = 0;
            while (position < size) {
                int n = buf.writeBytes(ch, position, (int) (size - position));
                if (n < 0) {
                    return null; // shorter than its size: changed meanwhile
                }
                position += n;
            }
            done = true;
            return new OpenFile(buf, contentBytes);
        } finally {
            if (!done) {
                buf.release();
                contentBytes.addAndGet(-size);
            }
        }
    }

    // ---- event loop ---------------------------------------------------------------------------------------------

    /** Whether {@code key} has an entry, fresh or not (cheap: no look at the change queue). */
    boolean mayHave(String key) {
        return !entries.isEmpty() && entries.containsKey(key);
    }

    /**
     * Runs {@code task} after the I/O of the current event-loop iteration, once the change queue has been drained:
     * every request read in this iteration (all of them before the drain) may then use {@link #getDrained}.
     */
    void afterReads(Runnable task) {
        deferred.add(task);
        if (!deferredScheduled) {
            deferredScheduled = true;
            try {
                loop.execute(runDeferred);
            } catch (RejectedExecutionException e) {
                runDeferred(); // the loop is stopping: answer now
            }
        }
    }

    private void runDeferred() {
        deferredScheduled = false;
        drain();
        Runnable task;
        while ((task = deferred.poll()) != null) {
            task.run();
        }
    }

    /** The fresh entry for {@code key}, or null; only within a task given to {@link #afterReads}. */
    Entry getDrained(String key, long nowNanos) {
        if (entries.isEmpty()) {
            return null;
        }
        Entry e = entries.get(key);
        if (e != null && nowNanos - e.expiresAt >= 0) {
            remove(e);
            return null;
        }
        return e;
    }

    /**
     * Keeps {@code e} (which holds one reference to its file, now the cache's), unless a change may have happened
     * since it was built or the cache is closed; then its reference and watches are given back.
     */
    void put(Entry e) {
        drain();
        if (closed || stale(e) || System.nanoTime() - e.expiresAt >= 0) {
            discard(e);
            return;
        }
        Entry old = entries.remove(e.key);
        addWatchRef(e.fileWd, e);
        addWatchRef(e.dirWd, e);
        entries.put(e.key, e);
        if (old != null) {
            drop(old);
        }
        if (entries.size() > MAX_ENTRIES) {
            Iterator<Entry> it = entries.values().iterator();
            Entry eldest = it.next();
            it.remove();
            drop(eldest);
        }
        if (sweep == null) {
            sweep = loop.schedule(sweeper, FileLookup.VALIDITY.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /** Whether a watch of {@code e} saw an event, or was removed, after its build began. */
    private boolean stale(Entry e) {
        long s = seq;
        if (s - e.seqBefore > RECENT) {
            return true; // too much happened to tell
        }
        for (long k = e.seqBefore + 1; k <= s; k++) {
            int i = (int) (k % RECENT);
            int wd = recentWd[i];
            if (recentSeq[i] == k && (wd == FileEvents.OVERFLOW || wd == e.fileWd || wd == e.dirWd)) {
                return true;
            }
        }
        return false;
    }

    private void drain() {
        events.drain(this::onEvent);
    }

    private void onEvent(int wd) {
        record(wd);
        if (entries.isEmpty()) {
            return;
        }
        if (wd == FileEvents.OVERFLOW) {
            List<Entry> all = new ArrayList<>(entries.values());
            entries.clear();
            all.forEach(this::drop);
            return;
        }
        List<Entry> hit = byWatch.get(wd);
        if (hit != null) {
            new ArrayList<>(hit).forEach(this::remove);
        }
    }

    private void record(int wd) {
        long k = seq + 1;
        int i = (int) (k % RECENT);
        recentSeq[i] = k;
        recentWd[i] = wd;
        seq = k;
    }

    private void remove(Entry e) {
        if (entries.remove(e.key, e)) {
            drop(e);
        }
    }

    /** Gives back the cache's reference and the entry's watches (the entry is no longer in the map). */
    private void drop(Entry e) {
        releaseWatchRef(e.fileWd, e);
        releaseWatchRef(e.dirWd, e);
        e.file.release();
    }

    /** An entry that was never kept: its watches go unless a kept entry uses them. */
    private void discard(Entry e) {
        unwatchIfUnused(e.fileWd);
        unwatchIfUnused(e.dirWd);
        e.file.release();
    }

    private void addWatchRef(int wd, Entry e) {
        byWatch.computeIfAbsent(wd, k -> new ArrayList<>(2)).add(e);
    }

    private void releaseWatchRef(int wd, Entry e) {
        List<Entry> users = byWatch.get(wd);
        if (users != null && users.remove(e) && users.isEmpty()) {
            byWatch.remove(wd);
            unwatch(wd);
        }
    }

    private void unwatchIfUnused(int wd) {
        if (!byWatch.containsKey(wd)) {
            unwatch(wd);
        }
    }

    /** Removes a watch, then records it, so that an entry being built with that watch is not kept. */
    private void unwatch(int wd) {
        events.unwatch(wd);
        record(wd);
    }

    private void sweep() {
        sweep = null;
        drain();
        long now = System.nanoTime();
        List<Entry> expired = null;
        for (Entry e : entries.values()) {
            if (now - e.expiresAt >= 0) {
                if (expired == null) {
                    expired = new ArrayList<>();
                }
                expired.add(e);
            }
        }
        if (expired != null) {
            expired.forEach(this::remove);
        }
        if (!entries.isEmpty() && !closed) {
            sweep = loop.schedule(sweeper, FileLookup.VALIDITY.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /** Drops every entry and the inotify instance; runs on the loop (or after it stopped). */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (sweep != null) {
            sweep.cancel(false);
            sweep = null;
        }
        for (Entry e : entries.values()) {
            e.file.release();
        }
        entries.clear();
        byWatch.clear();
        events.close();
    }

    /** {@link #close()} on the cache's loop, or here when the loop no longer runs tasks. */
    void closeOnLoop() {
        if (loop.inEventLoop()) {
            close();
            return;
        }
        try {
            loop.execute(this::close);
        } catch (RejectedExecutionException e) {
            close();
        }
    }
}
