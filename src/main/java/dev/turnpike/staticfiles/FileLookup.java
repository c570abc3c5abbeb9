package dev.turnpike.staticfiles;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;

/**
 * stat + realpath of paths below the root, blocking (call it on the blocking executor only), with a small
 * cache like nginx's open_file_cache: entries (hits and misses) live at most {@link #VALIDITY}, so a change on
 * disk is seen within that time. Only metadata is cached, never file descriptors or content; the size is
 * re-checked on the opened file before anything is sent.
 */
final class FileLookup {
    static final Duration VALIDITY = Duration.ofSeconds(1);
    static final int MAX_ENTRIES = 10_000;

    enum Kind {
        /** Does not exist (or cannot be a file: ENOTDIR, ELOOP, name too long …). */
        MISSING,
        /** Exists but its real path is not below the root (a symlink leading out). */
        OUTSIDE,
        /** Permission denied while resolving. */
        DENIED,
        REGULAR,
        DIRECTORY,
        /** FIFO, device, socket … */
        OTHER
    }

    /**
     * @param realPath the resolved real path (null unless REGULAR, DIRECTORY or OTHER)
     * @param hidden   whether the real path has a dot segment below the root (other than a leading .well-known)
     */
    record Info(Kind kind, Path realPath, long size, long mtimeMillis, boolean hidden) {
        static final Info MISSING = new Info(Kind.MISSING, null, 0, 0, false);
        static final Info OUTSIDE = new Info(Kind.OUTSIDE, null, 0, 0, false);
        static final Info DENIED = new Info(Kind.DENIED, null, 0, 0, false);

        /** Whether this can be served given the hidden-file policy. */
        boolean visible(boolean showHidden) {
            return showHidden || !hidden;
        }
    }

    private final Path root;
    private final Cache<Path, Info> cache;

    FileLookup(Path root) {
        this.root = root;
        this.cache = Caffeine.newBuilder()
                .maximumSize(MAX_ENTRIES)
                .expireAfterWrite(VALIDITY)
                .executor(Runnable::run)
                .build();
    }

    Path root() {
        return root;
    }

    /** Metadata of {@code path} (which must be below the root lexically), from the cache when fresh. */
    Info stat(Path path) throws IOException {
        Info cached = cache.getIfPresent(path);
        if (cached != null) {
            return cached;
        }
        Info fresh = statNow(path);
        cache.put(path, fresh);
        return fresh;
    }

    void invalidate(Path path) {
        cache.invalidate(path);
    }

    void clear() {
        cache.invalidateAll();
    }

    Info statNow(Path path) throws IOException {
        Path p = path.normalize();
        if (!p.startsWith(root)) {
            return Info.OUTSIDE;
        }
        try {
            Path real = p.toRealPath();
            if (!real.startsWith(root)) {
                return Info.OUTSIDE;
            }
            BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            Kind kind = a.isRegularFile() ? Kind.REGULAR : a.isDirectory() ? Kind.DIRECTORY : Kind.OTHER;
            return new Info(kind, real, a.size(), a.lastModifiedTime().toMillis(), hiddenBelowRoot(real));
        } catch (AccessDeniedException e) {
            return Info.DENIED;
        } catch (FileSystemException e) {
            // NoSuchFile, "Not a directory", "Too many levels of symbolic links", "File name too long" …
            return Info.MISSING;
        }
    }

    private boolean hiddenBelowRoot(Path real) {
        Path rel = root.relativize(real);
        for (int i = 0; i < rel.getNameCount(); i++) {
            String s = rel.getName(i).toString();
            if (s.startsWith(".") && !(i == 0 && s.equals(StaticPathResolver.WELL_KNOWN))) {
                return true;
            }
        }
        return false;
    }
}
