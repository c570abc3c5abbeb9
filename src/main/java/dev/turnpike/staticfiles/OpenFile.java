package dev.turnpike.staticfiles;

import io.netty.buffer.ByteBuf;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.stream.ChunkedNioFile;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A file body shared by whoever holds a reference: the {@link OpenFileCache} and each response that sends from
 * it. Either an open descriptor, closed when the last reference goes (reads and sendfile use explicit offsets,
 * so any number of responses can send from one descriptor at once), or, for a small file, its bytes read once
 * (sent with the response head in one write, where sendfile would need a second packet).
 */
final class OpenFile {
    private final FileChannel channel;
    private final ByteBuf content;
    private final AtomicLong budget;
    private final AtomicInteger refs = new AtomicInteger(1);

    /** Takes ownership of {@code channel}, with one reference for the caller. */
    OpenFile(FileChannel channel) {
        this.channel = channel;
        this.content = null;
        this.budget = null;
    }

    /** Takes ownership of {@code content} (the whole file), counted in {@code budget} until the last release. */
    OpenFile(ByteBuf content, AtomicLong budget) {
        this.channel = null;
        this.content = content;
        this.budget = budget;
    }

    /** The descriptor; null for a file held as bytes. */
    FileChannel channel() {
        return channel;
    }

    /** The file's bytes, or null when it is sent from its descriptor. */
    ByteBuf content() {
        return content;
    }

    /** {@code count} bytes from {@code position} of a file held as bytes, taking over one reference to this. */
    ByteBuf slice(long position, long count) {
        ByteBuf s = content.retainedSlice((int) position, (int) count);
        release();
        return s;
    }

    /** Adds a reference; false when the file is already closed. */
    boolean tryRetain() {
        for (;;) {
            int n = refs.get();
            if (n <= 0) {
                return false;
            }
            if (refs.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    OpenFile retain() {
        if (!tryRetain()) {
            throw new IllegalStateException("file already closed");
        }
        return this;
    }

    void release() {
        if (refs.decrementAndGet() == 0) {
            if (content != null) {
                budget.addAndGet(-content.capacity());
                content.release();
                return;
            }
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing useful to do
            }
        }
    }

    int refCount() {
        return refs.get();
    }

    /** A sendfile body over a reference to {@code file}, which it gives back when Netty is done with it. */
    static DefaultFileRegion region(OpenFile file, long position, long count) {
        return new DefaultFileRegion(file.channel, position, count) {
            @Override
            protected void deallocate() {
                file.release();
            }
        };
    }

    /** A chunked body (no sendfile) over a reference to {@code file}, given back when the input is closed. */
    static ChunkedNioFile chunked(OpenFile file, long position, long count, int chunkSize) throws IOException {
        return new ChunkedNioFile(file.channel, position, count, chunkSize) {
            private boolean closed;

            @Override
            public void close() {
                if (!closed) {
                    closed = true;
                    file.release();
                }
            }
        };
    }
}
