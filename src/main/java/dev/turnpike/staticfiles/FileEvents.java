package dev.turnpike.staticfiles;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * Linux inotify through the foreign function API: what lets {@link OpenFileCache} serve a cached file without
 * a stat, yet see a change at once (nginx's {@code open_file_cache_events}). The kernel queues an event before
 * the writer's {@code write}/{@code truncate}/{@code rename} returns, so draining the queue before a lookup
 * sees every change that happened before the request arrived.
 *
 * <p>{@link #watch} resolves a path and so may block: blocking executor only. {@link #drain} and
 * {@link #unwatch} are non-blocking and meant for the event loop. Not available (null from {@link #open}) off
 * Linux or when inotify cannot be initialised (e.g. the per-user instance limit): callers then do without the
 * cache.
 */
final class FileEvents implements AutoCloseable {
    static final int IN_MODIFY = 0x2;
    static final int IN_ATTRIB = 0x4;
    static final int IN_MOVED_FROM = 0x40;
    static final int IN_MOVED_TO = 0x80;
    static final int IN_CREATE = 0x100;
    static final int IN_DELETE = 0x200;
    static final int IN_DELETE_SELF = 0x400;
    static final int IN_MOVE_SELF = 0x800;
    static final int IN_Q_OVERFLOW = 0x4000;
    static final int IN_ONLYDIR = 0x1000000;
    static final int IN_DONT_FOLLOW = 0x2000000;
    private static final int IN_NONBLOCK = 0x800;
    private static final int IN_CLOEXEC = 0x80000;

    /** A regular file: its content, size, times, permissions, or the file itself going away. */
    static final int FILE_MASK = IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW;
    /** Its directory: names appearing, disappearing or being replaced (atomic deploys), or the directory going. */
    static final int DIR_MASK = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF
            | IN_ATTRIB | IN_ONLYDIR;

    /** wd reported to {@link #drain}'s sink when the kernel's queue overflowed: anything may have changed. */
    static final int OVERFLOW = -1;

    private static final int BUFFER = 64 * 1024;

    private static final MethodHandle INIT;
    private static final MethodHandle ADD_WATCH;
    private static final MethodHandle RM_WATCH;
    private static final MethodHandle READ;
    private static final MethodHandle CLOSE;

    static {
        MethodHandle init = null;
        MethodHandle add = null;
        MethodHandle rm = null;
        MethodHandle read = null;
        MethodHandle close = null;
        try {
            if (System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                init = linker.downcallHandle(libc.find("inotify_init1").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                add = linker.downcallHandle(libc.find("inotify_add_watch").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                                ValueLayout.JAVA_INT));
                rm = linker.downcallHandle(libc.find("inotify_rm_watch").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                read = linker.downcallHandle(libc.find("read").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                                ValueLayout.JAVA_LONG), Linker.Option.critical(false));
                close = linker.downcallHandle(libc.find("close").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            }
        } catch (Throwable t) {
            init = null; // no native access (or no such symbols): the cache is simply not used
        }
        INIT = init;
        ADD_WATCH = add;
        RM_WATCH = rm;
        READ = read;
        CLOSE = close;
    }

    private final int fd;
    private final MemorySegment buffer = Arena.ofAuto().allocate(BUFFER, 8);
    /** Set by {@link #close} (on the event loop); the loop's own calls never touch the descriptor after it. */
    private volatile boolean closed;
    /** Held by {@link #watch} (blocking threads) so the descriptor is never closed, and its number reused, under it. */
    private final ReentrantLock watching = new ReentrantLock();
    private boolean fdClosed;

    private FileEvents(int fd) {
        this.fd = fd;
    }

    /**
     * Links the inotify functions now (class initialization: some 25 ms of foreign-function setup) rather than in the
     * first request for a file, which would pay for it on its event loop. Blocking executor only.
     */
    static void link() {
        // Nothing more: calling a static method initializes the class.
    }

    /** A new inotify instance, or null when there can be none. */
    static FileEvents open() {
        if (INIT == null) {
            return null;
        }
        try {
            int fd = (int) INIT.invokeExact(IN_NONBLOCK | IN_CLOEXEC);
            return fd < 0 ? null : new FileEvents(fd);
        } catch (Throwable t) {
            return null;
        }
    }

    /** Watches {@code path} for {@code mask}; the watch descriptor, or -1 when it cannot be watched. Blocking. */
    int watch(Path path, int mask) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocateFrom(path.toString());
            watching.lock();
            try {
                if (closed) {
                    return -1;
                }
                return (int) ADD_WATCH.invokeExact(fd, name, mask);
            } finally {
                watching.unlock();
                if (closed) {
                    closeFd(); // close() found the lock taken and left the descriptor to us
                }
            }
        } catch (Throwable t) {
            return -1;
        }
    }

    /** Stops a watch (harmless when the kernel already dropped it because its file is gone). Event loop. */
    void unwatch(int wd) {
        if (closed || wd < 0) {
            return;
        }
        try {
            int ignored = (int) RM_WATCH.invokeExact(fd, wd);
        } catch (Throwable ignored) {
            // nothing to undo
        }
    }

    /**
     * Reads every queued event without blocking and reports each one's watch descriptor ({@link #OVERFLOW} when
     * events were lost). Event loop only; one thread at a time.
     */
    void drain(IntConsumer sink) {
        while (!closed) {
            long n;
            try {
                n = (long) READ.invokeExact(fd, buffer, (long) BUFFER);
            } catch (Throwable t) {
                sink.accept(OVERFLOW);
                return;
            }
            if (n <= 0) {
                return; // EAGAIN: nothing queued (or closed)
            }
            long off = 0;
            while (off + 16 <= n) {
                int wd = buffer.get(ValueLayout.JAVA_INT_UNALIGNED, off);
                int mask = buffer.get(ValueLayout.JAVA_INT_UNALIGNED, off + 4);
                int len = buffer.get(ValueLayout.JAVA_INT_UNALIGNED, off + 12);
                sink.accept((mask & IN_Q_OVERFLOW) != 0 ? OVERFLOW : wd);
                off += 16 + Integer.toUnsignedLong(len);
            }
        }
    }

    /**
     * Closes the instance; called on the event loop, which it never blocks: when a {@link #watch} is under way,
     * that call closes the descriptor when it is done.
     */
    @Override
    public void close() {
        closed = true;
        closeFd();
    }

    private void closeFd() {
        if (!watching.tryLock()) {
            return;
        }
        try {
            if (!fdClosed) {
                fdClosed = true;
                int ignored = (int) CLOSE.invokeExact(fd);
            }
        } catch (Throwable ignored) {
            // nothing to undo
        } finally {
            watching.unlock();
        }
    }
}
