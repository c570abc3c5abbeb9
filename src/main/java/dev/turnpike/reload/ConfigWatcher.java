package dev.turnpike.reload;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code server.watch_config}: reads the configuration file every {@link #POLL} on the server's control thread (never
 * an event loop) and asks for a reload once a change has settled: the content differs from the last one seen and has
 * not changed again for one more poll, so an editor's save in several writes, or a {@code ..data} symlink swap, ends
 * in one reload. Compares contents (a hash), not times: a touch without a change does nothing, and a file replaced by
 * another with the same modification time is still noticed.
 *
 * <p>A changed file is reloaded once whatever the outcome; an invalid one is not retried until it changes again. A
 * file that cannot be read (in the middle of a rename) counts as unchanged.
 */
public final class ConfigWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigWatcher.class);

    /** How often the file is read. */
    public static final Duration POLL = Duration.ofMillis(500);

    private final Path file;
    private final Runnable onChange;
    private final ScheduledFuture<?> task;
    /** The content the running configuration came from (or the last one reloaded). */
    private byte[] applied;
    /** A different content seen at the last poll, waiting to settle; null when none. */
    private byte[] pending;

    /**
     * Starts watching {@code file}, whose current content counts as applied.
     *
     * @param executor a single thread (the server's control thread); {@code onChange} runs on it
     */
    public ConfigWatcher(Path file, ScheduledExecutorService executor, Runnable onChange) {
        this(file, executor, onChange, POLL);
    }

    ConfigWatcher(Path file, ScheduledExecutorService executor, Runnable onChange, Duration poll) {
        this.file = file;
        this.onChange = onChange;
        this.applied = hash();
        this.task = executor.scheduleWithFixedDelay(this::poll, poll.toMillis(), poll.toMillis(),
                TimeUnit.MILLISECONDS);
        LOG.atInfo().addKeyValue("event", "config_watch_started").addKeyValue("file", file.toString())
                .log("watching {} for changes (server.watch_config)", file);
    }

    private void poll() {
        try {
            byte[] now = hash();
            if (now == null || Arrays.equals(now, applied)) {
                pending = null;
                return;
            }
            if (!Arrays.equals(now, pending)) {
                pending = now; // changed since the last poll: let it settle
                return;
            }
            applied = now;
            pending = null;
            onChange.run();
        } catch (RuntimeException e) {
            LOG.warn("watching {} failed", file, e);
        }
    }

    private byte[] hash() {
        try {
            return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
        } catch (IOException e) {
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        task.cancel(false);
    }
}
