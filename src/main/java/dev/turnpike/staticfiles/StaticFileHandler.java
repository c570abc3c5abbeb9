package dev.turnpike.staticfiles;

import dev.turnpike.config.HandlerConfig;
import dev.turnpike.handler.HandlerContext;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import io.netty.buffer.Unpooled;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.stream.ChunkedNioFile;
import io.netty.util.AsciiString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Serves files below a root, like nginx's or Caddy's static file server.
 *
 * <p>Threading: {@link #handle} runs on the event loop and only looks at the request (method, path syntax).
 * Everything that touches the file system (stat, realpath, open, directory read) runs in one task on the
 * blocking executor, which prepares a complete {@link Reply} (headers decided, files opened); the reply is then
 * written on the exchange's event loop. If the client went away meanwhile, whatever was opened is closed.
 * A path last answered with a plain file is then answered on the event loop itself, from the loop's
 * {@link OpenFileCache} (open descriptor or small file's bytes, with its validators), without any file-system
 * call but sendfile; the cache sees changes at once through inotify and forgets everything after
 * {@link FileLookup#VALIDITY}, so answers are the same as from the disk.
 *
 * <p>Bodies: with {@code zeroCopy()} a {@link DefaultFileRegion} (sendfile), otherwise a {@link ChunkedNioFile}
 * for the pipeline's ChunkedWriteHandler; each is followed by {@link Exchange#end()}.
 *
 * <p>Choices where the specification leaves room (see also {@link StaticPathResolver} and {@link ByteRanges}):
 * <ul>
 *   <li>400 for paths that cannot name a file (encoded '/', '\', control characters, bad UTF-8), decided on the
 *       request alone; one indistinguishable 404 for everything that depends on the disk (missing, hidden
 *       dotfile, symlink out of root, FIFO/device, a file requested with a trailing slash); 403 only when the
 *       operating system denies access to something that exists.</li>
 *   <li>spa_fallback answers every GET/HEAD that would otherwise be that 404 (like
 *       {@code try_files $uri $uri/ /index.html}); it does not replace 400 or 403. It is served as a normal
 *       file (200, validators, ranges).</li>
 *   <li>A directory without index: listing when on, else the spa_fallback, else 404.</li>
 *   <li>ETag is nginx's {@code "<mtime seconds hex>-<size hex>"} (so ETags agree with nginx serving the same
 *       files); a precompressed variant uses its own file's values plus {@code -br}/{@code -gzip}.</li>
 *   <li>Range is honoured for GET only (RFC 9110 §14.2); a multi-range request for a precompressed variant is
 *       answered 200, since Content-Encoding on a multipart body would be misread.</li>
 *   <li>Symlinks are followed only while their real path stays below the root; with show_hidden off, a real
 *       path through a dot directory is refused too.</li>
 * </ul>
 */
public final class StaticFileHandler implements Handler {
    private static final Logger LOG = LoggerFactory.getLogger(StaticFileHandler.class);

    static final int CHUNK_SIZE = 64 * 1024;
    static final String ALLOW = "GET, HEAD, OPTIONS";
    static final AsciiString NOSNIFF_NAME = AsciiString.cached("x-content-type-options");
    static final AsciiString NOSNIFF = AsciiString.cached("nosniff");
    private static final String NOT_FOUND_DETAIL = "The requested file was not found.";

    private final HandlerConfig.Static config;
    private final Executor executor;
    private final FileLookup lookup;
    private final Path root;
    private final boolean showHidden;
    private final String cacheControl;
    private final java.util.concurrent.ConcurrentHashMap<EventLoop, CacheSlot> caches =
            new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean closed;

    public StaticFileHandler(HandlerConfig.Static config, HandlerContext context) {
        this.config = config;
        this.executor = context.blockingExecutor();
        this.root = config.root().toAbsolutePath().normalize();
        this.lookup = new FileLookup(root);
        this.showHidden = config.showHidden();
        this.cacheControl = config.cacheControl().orElse(null);
        try {
            executor.execute(FileEvents::link);
        } catch (RejectedExecutionException e) {
            // The first request links them instead.
        }
    }

    // ---- event loop: request checks ------------------------------------------------------------------------

    @Override
    public void handle(Exchange exchange) {
        HttpMethod method = exchange.method();
        if (method.equals(HttpMethod.OPTIONS)) {
            DefaultHttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NO_CONTENT);
            r.headers().set(HttpHeaderNames.ALLOW, ALLOW);
            exchange.sendHead(r);
            exchange.end();
            return;
        }
        boolean head = method.equals(HttpMethod.HEAD);
        if (!head && !method.equals(HttpMethod.GET)) {
            FullHttpResponse r = exchange.services().errors().build(exchange, HttpResponseStatus.METHOD_NOT_ALLOWED,
                    method.name() + " is not allowed here.");
            r.headers().set(HttpHeaderNames.ALLOW, ALLOW);
            exchange.respond(r);
            return;
        }
        OpenFileCache cache = cacheFor(exchange.eventLoop());
        if (cache != null && cache.mayHave(exchange.path())) {
            // Answered once this loop iteration's reads are done, after one look at the change queue for all
            // of them (one read of inotify per iteration rather than per request).
            cache.afterReads(() -> answerFromCache(exchange, head, cache));
            return;
        }
        answerFromDisk(exchange, head, cache);
    }

    /** A request whose path had a cache entry: answered from it if it is still fresh, else from the disk. */
    private void answerFromCache(Exchange exchange, boolean head, OpenFileCache cache) {
        if (exchange.isFinished()) {
            return;
        }
        try {
            // Only a path that was mapped to a regular file before has an entry: no need to map it again.
            OpenFileCache.Entry hit = cache.getDrained(exchange.path(), System.nanoTime());
            if (hit != null) {
                deliver(exchange, answer(Request.of(exchange, head, null, cache), hit));
            } else {
                answerFromDisk(exchange, head, cache);
            }
        } catch (RuntimeException e) {
            LOG.warn("static file request for {} failed", exchange.path(), e);
            exchange.sendError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "The file could not be read.");
        }
    }

    private void answerFromDisk(Exchange exchange, boolean head, OpenFileCache cache) {
        EventLoop loop = exchange.eventLoop();
        StaticPathResolver.Result resolved = StaticPathResolver.resolve(exchange.path(), config.stripPrefix(), showHidden);
        if (resolved == StaticPathResolver.Rejection.MALFORMED) {
            exchange.sendError(HttpResponseStatus.BAD_REQUEST, "The request path is not a valid file path.");
            return;
        }
        Request req = Request.of(exchange, head,
                resolved instanceof StaticPathResolver.Mapped m ? m : null, cache);
        try {
            executor.execute(() -> prepareAndDeliver(exchange, loop, req));
        } catch (RejectedExecutionException e) {
            exchange.sendError(HttpResponseStatus.SERVICE_UNAVAILABLE, "The server is too busy to serve files.");
        }
    }

    /**
     * The open-file cache of this route on {@code loop}, made on first use; null when there can be none (no
     * inotify) or the handler is closed.
     */
    private OpenFileCache cacheFor(EventLoop loop) {
        CacheSlot slot = caches.get(loop);
        if (slot == null) {
            if (closed) {
                return null;
            }
            slot = new CacheSlot(OpenFileCache.create(loop));
            caches.put(loop, slot);
            if (closed && slot.cache != null) {
                slot.cache.close(); // close() ran meanwhile and did not see this one
            }
        }
        OpenFileCache c = slot.cache;
        return c == null || c.isClosed() ? null : c;
    }

    private record CacheSlot(OpenFileCache cache) {}

    /**
     * What the blocking task needs from the request, copied on the event loop; {@code cache} is the loop's
     * open-file cache, or null.
     */
    record Request(boolean head, String path, String query, StaticPathResolver.Mapped mapped, String range,
                   Preconditions.Conditions conditions, String acceptEncoding, String accept, OpenFileCache cache) {
        static Request of(Exchange ex, boolean head, StaticPathResolver.Mapped mapped, OpenFileCache cache) {
            HttpHeaders h = ex.requestHeaders();
            return new Request(head, ex.path(), ex.query(), mapped, joined(h, HttpHeaderNames.RANGE),
                    new Preconditions.Conditions(joined(h, HttpHeaderNames.IF_MATCH),
                            joined(h, HttpHeaderNames.IF_NONE_MATCH), joined(h, HttpHeaderNames.IF_MODIFIED_SINCE),
                            joined(h, HttpHeaderNames.IF_UNMODIFIED_SINCE), joined(h, HttpHeaderNames.IF_RANGE)),
                    joined(h, HttpHeaderNames.ACCEPT_ENCODING), joined(h, HttpHeaderNames.ACCEPT), cache);
        }

        private static String joined(HttpHeaders h, CharSequence name) {
            if (!h.contains(name)) {
                return null; // the usual case, without the list getAll makes
            }
            List<String> all = h.getAll(name);
            return all.isEmpty() ? null : all.size() == 1 ? all.get(0) : String.join(", ", all);
        }
    }

    // ---- blocking executor: decide the reply ---------------------------------------------------------------

    private void prepareAndDeliver(Exchange exchange, EventLoop loop, Request req) {
        Reply reply;
        try {
            reply = plan(req);
        } catch (Throwable t) {
            LOG.warn("static file request for {} failed", req.path(), t);
            reply = new ErrorReply(HttpResponseStatus.INTERNAL_SERVER_ERROR, "The file could not be read.", Map.of());
        }
        Reply r = reply;
        try {
            loop.execute(() -> deliver(exchange, r));
        } catch (RejectedExecutionException e) {
            r.release();
        }
    }

    Reply plan(Request req) throws IOException {
        if (req.mapped() == null) {
            return notFound(req);
        }
        Path candidate;
        try {
            candidate = root;
            for (String segment : req.mapped().segments()) {
                candidate = candidate.resolve(segment);
            }
        } catch (InvalidPathException e) {
            return notFound(req);
        }
        FileLookup.Info info = lookup.stat(candidate);
        switch (info.kind()) {
            case DENIED -> {
                return forbidden();
            }
            case REGULAR -> {
                if (!info.visible(showHidden) || req.mapped().trailingSlash()) {
                    return notFound(req);
                }
                return serveFile(req, candidate, info, false, true);
            }
            case DIRECTORY -> {
                if (!info.visible(showHidden)) {
                    return notFound(req);
                }
                if (!req.mapped().trailingSlash()) {
                    return new RedirectReply(redirectLocation(req.path(), req.query()));
                }
                for (String name : config.index()) {
                    Path indexPath = candidate.resolve(name);
                    FileLookup.Info index = lookup.stat(indexPath);
                    if (index.kind() == FileLookup.Kind.REGULAR) {
                        return serveFile(req, indexPath, index, false, true);
                    }
                    if (index.kind() == FileLookup.Kind.DENIED) {
                        return forbidden();
                    }
                }
                if (config.listing() == HandlerConfig.Static.Listing.ON) {
                    return listing(req, info.realPath());
                }
                return notFound(req);
            }
            default -> {
                return notFound(req);
            }
        }
    }

    /** The 404 answer: the spa_fallback file when configured, else an error page. */
    private Reply notFound(Request req) throws IOException {
        if (config.spaFallback().isPresent()) {
            Path spa;
            try {
                spa = root.resolve(config.spaFallback().get()).normalize();
            } catch (InvalidPathException e) {
                return new ErrorReply(HttpResponseStatus.NOT_FOUND, NOT_FOUND_DETAIL, Map.of());
            }
            FileLookup.Info info = lookup.stat(spa);
            if (info.kind() == FileLookup.Kind.REGULAR) {
                return serveFile(req, spa, info, false);
            }
            if (info.kind() == FileLookup.Kind.DENIED) {
                return forbidden();
            }
        }
        return new ErrorReply(HttpResponseStatus.NOT_FOUND, NOT_FOUND_DETAIL, Map.of());
    }

    private static Reply forbidden() {
        return new ErrorReply(HttpResponseStatus.FORBIDDEN, "Access to this file is forbidden.", Map.of());
    }

    private Reply listing(Request req, Path dir) throws IOException {
        DirectoryListing.Contents contents;
        try {
            contents = DirectoryListing.read(dir, lookup, showHidden);
        } catch (AccessDeniedException e) {
            return forbidden();
        } catch (FileSystemException e) {
            return notFound(req);
        }
        String display = displayPath(req.path());
        boolean json = DirectoryListing.wantsJson(req.query(), req.accept());
        byte[] body = json ? DirectoryListing.json(display, contents)
                : DirectoryListing.html(display, contents, !req.mapped().segments().isEmpty());
        HttpHeaders h = new DefaultHttpHeaders();
        h.set(HttpHeaderNames.CONTENT_TYPE, json ? "application/json" : "text/html; charset=utf-8");
        h.set(HttpHeaderNames.VARY, "Accept");
        h.set(NOSNIFF_NAME, NOSNIFF);
        h.set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
        return new BytesReply(HttpResponseStatus.OK, h, body);
    }

    private Reply serveFile(Request req, Path candidate, FileLookup.Info original, boolean retried) throws IOException {
        return serveFile(req, candidate, original, retried, false);
    }

    /** {@code mayCache}: the file answers the request path itself (not a fallback), so it may be cached for it. */
    private Reply serveFile(Request req, Path candidate, FileLookup.Info original, boolean retried, boolean mayCache)
            throws IOException {
        String name = candidate.getFileName() == null ? "" : candidate.getFileName().toString();
        String contentType = MimeTypes.forFileName(name);

        Path selectedPath = candidate;
        FileLookup.Info selected = original;
        AcceptEncoding.Coding coding = null;
        boolean hasVariant = false;
        if (config.precompressed() && !isCompressedName(name)) {
            Path brPath = candidate.resolveSibling(name + AcceptEncoding.Coding.BR.suffix);
            Path gzPath = candidate.resolveSibling(name + AcceptEncoding.Coding.GZIP.suffix);
            FileLookup.Info br = lookup.stat(brPath);
            FileLookup.Info gz = lookup.stat(gzPath);
            boolean brOk = br.kind() == FileLookup.Kind.REGULAR && br.visible(showHidden);
            boolean gzOk = gz.kind() == FileLookup.Kind.REGULAR && gz.visible(showHidden);
            hasVariant = brOk || gzOk;
            if (hasVariant) {
                for (AcceptEncoding.Coding c : AcceptEncoding.preferred(req.acceptEncoding())) {
                    if (c == AcceptEncoding.Coding.BR && brOk) {
                        selectedPath = brPath;
                        selected = br;
                        coding = c;
                        break;
                    }
                    if (c == AcceptEncoding.Coding.GZIP && gzOk) {
                        selectedPath = gzPath;
                        selected = gz;
                        coding = c;
                        break;
                    }
                }
            }
        }

        if (mayCache && !retried && !hasVariant && req.cache() != null) {
            OpenFileCache.Entry entry = openCached(req, candidate, original, contentType);
            if (entry != null) {
                try {
                    return new CachedReply(answer(req, entry), entry, req.cache());
                } catch (RuntimeException e) {
                    entry.file.release();
                    throw e;
                }
            }
            // could not be watched or opened as stat said: answered the uncached way, which knows every case
        }

        long size = selected.size();
        long mtimeSecs = Math.floorDiv(selected.mtimeMillis(), 1000L);
        String etag = etag(mtimeSecs, size, coding);
        Path realPath = selected.realPath();
        Path opened = selectedPath;
        AcceptEncoding.Coding c = coding;
        return answer(req, contentType, size, mtimeSecs, etag, lastModified(mtimeSecs), coding, hasVariant, new Opener() {
            @Override
            public Reply checkHead() {
                return Files.isReadable(realPath) ? null : forbidden();
            }

            @Override
            public Object open(int count) throws IOException {
                List<OpenFile> files = new ArrayList<>(count);
                try {
                    for (int i = 0; i < count; i++) {
                        files.add(new OpenFile(FileChannel.open(realPath, StandardOpenOption.READ)));
                    }
                    long actual = files.get(0).channel().size();
                    if (actual != size) {
                        // Changed since the cached stat: look again, once, so that length and validators agree.
                        releaseAll(files);
                        lookup.invalidate(opened);
                        lookup.invalidate(candidate);
                        if (!retried) {
                            FileLookup.Info fresh = lookup.stat(candidate);
                            if (fresh.kind() != FileLookup.Kind.REGULAR) {
                                return notFound(req);
                            }
                            return serveFile(req, candidate, fresh, true);
                        }
                        return new ErrorReply(HttpResponseStatus.SERVICE_UNAVAILABLE,
                                "The file is being modified; try again.",
                                Map.of(HttpHeaderNames.RETRY_AFTER.toString(), "1"));
                    }
                    return files;
                } catch (AccessDeniedException e) {
                    releaseAll(files);
                    return forbidden();
                } catch (FileSystemException e) {
                    releaseAll(files);
                    lookup.invalidate(opened);
                    return new ErrorReply(HttpResponseStatus.NOT_FOUND, NOT_FOUND_DETAIL, Map.of());
                } catch (IOException | RuntimeException e) {
                    releaseAll(files);
                    throw e;
                }
            }
        });
    }

    /**
     * Builds an open-file cache entry for {@code candidate} (a plain file, no precompressed variant): watches
     * first, then a fresh stat, then the open, so that any change after the stat is reported by the watches.
     * Null when the file cannot be watched, or is not (any more) what {@code original} said; the caller then
     * answers without the cache.
     */
    private OpenFileCache.Entry openCached(Request req, Path candidate, FileLookup.Info original, String contentType)
            throws IOException {
        OpenFileCache cache = req.cache();
        Path real = original.realPath();
        if (real == null || real.getParent() == null) {
            return null;
        }
        long seqBefore = cache.seq();
        int dirWd = cache.watch(real.getParent(), FileEvents.DIR_MASK);
        int fileWd = dirWd < 0 ? -1 : cache.watch(real, FileEvents.FILE_MASK);
        if (fileWd < 0) {
            return null;
        }
        long statNanos = System.nanoTime();
        FileLookup.Info fresh = lookup.statNow(candidate);
        if (fresh.kind() != FileLookup.Kind.REGULAR || !fresh.visible(showHidden) || !real.equals(fresh.realPath())) {
            return null;
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(real, StandardOpenOption.READ);
        } catch (IOException e) {
            return null;
        }
        OpenFile file;
        try {
            if (ch.size() != fresh.size()) {
                closeQuietly(ch);
                return null;
            }
            file = cache.readSmall(ch, fresh.size());
            if (file == null) {
                file = new OpenFile(ch);
            } else {
                closeQuietly(ch);
            }
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
        long mtimeSecs = Math.floorDiv(fresh.mtimeMillis(), 1000L);
        return new OpenFileCache.Entry(req.path(), file, fresh.size(), mtimeSecs,
                etag(mtimeSecs, fresh.size(), null), lastModified(mtimeSecs), contentType, fileWd, dirWd, seqBefore,
                statNanos + FileLookup.VALIDITY.toNanos());
    }

    /** The answer from a cached open file: no file-system call (runs on the event loop for cache hits). */
    private Reply answer(Request req, OpenFileCache.Entry e) {
        try {
            return answer(req, e.contentType, e.size, e.mtimeSecs, e.etag, e.lastModified, null, false, new Opener() {
                @Override
                public Reply checkHead() {
                    return null; // it was opened for reading
                }

                @Override
                public Object open(int count) {
                    List<OpenFile> files = new ArrayList<>(count);
                    for (int i = 0; i < count; i++) {
                        if (!e.file.tryRetain()) {
                            releaseAll(files);
                            throw new IllegalStateException("cached file closed while in use");
                        }
                        files.add(e.file);
                    }
                    return files;
                }
            });
        } catch (IOException impossible) {
            throw new java.io.UncheckedIOException(impossible);
        }
    }

    /** Where the body of a file answer comes from, and the one check a HEAD answer needs. */
    private interface Opener {
        /** Null when a HEAD may be answered 200, else the answer. */
        Reply checkHead();

        /** {@code count} references to the file to send (a {@code List<OpenFile>}), or another answer. */
        Object open(int count) throws IOException;
    }

    /** Validators, preconditions, ranges and the body of a file answer. */
    private Reply answer(Request req, String contentType, long size, long mtimeSecs, String etag, String lastModified,
                         AcceptEncoding.Coding coding, boolean hasVariant, Opener opener) throws IOException {
        HttpHeaders h = new DefaultHttpHeaders();
        h.set(HttpHeaderNames.ETAG, etag);
        h.set(HttpHeaderNames.LAST_MODIFIED, lastModified);
        if (cacheControl != null) {
            h.set(HttpHeaderNames.CACHE_CONTROL, cacheControl);
        }
        if (hasVariant) {
            h.set(HttpHeaderNames.VARY, "Accept-Encoding");
        }
        h.set(NOSNIFF_NAME, NOSNIFF);

        switch (Preconditions.evaluate(req.conditions(), etag, mtimeSecs, true)) {
            case NOT_MODIFIED -> {
                return new FileReply(HttpResponseStatus.NOT_MODIFIED, h, List.of(), null);
            }
            case PRECONDITION_FAILED -> {
                return new ErrorReply(HttpResponseStatus.PRECONDITION_FAILED,
                        "A precondition of the request does not hold for this file.", Map.of());
            }
            case PROCEED -> { }
        }
        h.set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);

        List<ByteRanges.Range> ranges = null;
        if (!req.head() && req.range() != null
                && Preconditions.rangeAllowed(req.conditions().ifRange(), etag, mtimeSecs)) {
            ByteRanges.Result rr = ByteRanges.parse(req.range(), size);
            if (rr instanceof ByteRanges.Unsatisfiable) {
                return new ErrorReply(HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                        "The requested range is not satisfiable.",
                        Map.of(HttpHeaderNames.CONTENT_RANGE.toString(), "bytes */" + size,
                                HttpHeaderNames.ACCEPT_RANGES.toString(), HttpHeaderValues.BYTES.toString()));
            }
            if (rr instanceof ByteRanges.Satisfiable s && !(coding != null && s.ranges().size() > 1)) {
                ranges = s.ranges();
            }
        }
        if (coding != null) {
            h.set(HttpHeaderNames.CONTENT_ENCODING, coding.token);
        }

        if (req.head()) {
            Reply refused = opener.checkHead();
            if (refused != null) {
                return refused;
            }
            h.set(HttpHeaderNames.CONTENT_TYPE, contentType);
            h.set(HttpHeaderNames.CONTENT_LENGTH, size);
            return new FileReply(HttpResponseStatus.OK, h, List.of(), null);
        }

        int fileCount = ranges == null ? 1 : ranges.size();
        Object opened = opener.open(fileCount);
        if (opened instanceof Reply other) {
            return other;
        }
        @SuppressWarnings("unchecked")
        List<OpenFile> files = (List<OpenFile>) opened;

        if (ranges == null) {
            h.set(HttpHeaderNames.CONTENT_TYPE, contentType);
            h.set(HttpHeaderNames.CONTENT_LENGTH, size);
            List<Part> parts = new ArrayList<>(1);
            if (size > 0) {
                parts.add(new Part(files.get(0), 0, size, null));
            } else {
                releaseAll(files);
            }
            return new FileReply(HttpResponseStatus.OK, h, parts, null);
        }
        if (ranges.size() == 1) {
            ByteRanges.Range r = ranges.get(0);
            h.set(HttpHeaderNames.CONTENT_TYPE, contentType);
            h.set(HttpHeaderNames.CONTENT_RANGE, contentRange(r, size));
            h.set(HttpHeaderNames.CONTENT_LENGTH, r.length());
            return new FileReply(HttpResponseStatus.PARTIAL_CONTENT, h,
                    List.of(new Part(files.get(0), r.start(), r.length(), null)), null);
        }
        String boundary = "turnpike-" + UUID.randomUUID().toString().replace("-", "");
        List<Part> parts = new ArrayList<>(ranges.size());
        long length = 0;
        for (int i = 0; i < ranges.size(); i++) {
            ByteRanges.Range r = ranges.get(i);
            byte[] prefix = ("\r\n--" + boundary + "\r\nContent-Type: " + contentType + "\r\nContent-Range: "
                    + contentRange(r, size) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
            parts.add(new Part(files.get(i), r.start(), r.length(), prefix));
            length += prefix.length + r.length();
        }
        byte[] trailer = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII);
        length += trailer.length;
        h.set(HttpHeaderNames.CONTENT_TYPE, "multipart/byteranges; boundary=" + boundary);
        h.set(HttpHeaderNames.CONTENT_LENGTH, length);
        return new FileReply(HttpResponseStatus.PARTIAL_CONTENT, h, parts, trailer);
    }

    private static String lastModified(long mtimeSecs) {
        return DateFormatter.format(new Date(mtimeSecs * 1000L));
    }

    static String etag(long mtimeSecs, long size, AcceptEncoding.Coding coding) {
        return "\"" + Long.toHexString(mtimeSecs) + "-" + Long.toHexString(size)
                + (coding == null ? "" : "-" + coding.token) + "\"";
    }

    private static String contentRange(ByteRanges.Range r, long size) {
        return "bytes " + r.start() + "-" + r.end() + "/" + size;
    }

    private static boolean isCompressedName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".br") || n.endsWith(".gz");
    }

    /**
     * {@code path + "/"} plus the query. Leading slashes are collapsed so that a path like {@code //host} can never
     * become a network-path reference to another host (an open redirect).
     */
    static String redirectLocation(String path, String query) {
        int i = 0;
        while (i < path.length() && path.charAt(i) == '/') {
            i++;
        }
        String p = "/" + path.substring(i);
        return p + (p.endsWith("/") ? "" : "/") + (query != null ? "?" + query : "");
    }

    /** The request path decoded for display in a listing (undecodable escapes are left as they are). */
    static String displayPath(String path) {
        StringBuilder sb = new StringBuilder(path.length() + 1);
        for (String seg : path.split("/")) {
            if (!seg.isEmpty()) {
                String d = StaticPathResolver.decodeSegment(seg);
                sb.append('/').append(d != null ? d : seg);
            }
        }
        return sb.append('/').toString();
    }

    private static void releaseAll(List<OpenFile> files) {
        for (OpenFile f : files) {
            f.release();
        }
        files.clear();
    }

    private static void closeQuietly(FileChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // nothing useful to do
        }
    }

    // ---- event loop: write the reply -----------------------------------------------------------------------

    sealed interface Reply {
        default void release() {}
    }

    /**
     * {@code reply}, answered from a new open-file cache {@code entry} that the event loop is to keep (the entry's
     * reference to its file is the cache's).
     */
    record CachedReply(Reply reply, OpenFileCache.Entry entry, OpenFileCache cache) implements Reply {
        @Override
        public void release() {
            reply.release();
            entry.file.release();
        }
    }

    record ErrorReply(HttpResponseStatus status, String detail, Map<String, String> headers) implements Reply {}

    record RedirectReply(String location) implements Reply {}

    record BytesReply(HttpResponseStatus status, HttpHeaders headers, byte[] body) implements Reply {}

    /** A part of a file body; {@code prefix} (multipart headers) is written before it when present. */
    record Part(OpenFile file, long position, long count, byte[] prefix) {}

    /**
     * A file response: head, then each part, then {@code trailer} (multipart's closing boundary) or nothing.
     * Owns the parts' channels until they are handed to Netty.
     */
    record FileReply(HttpResponseStatus status, HttpHeaders headers, List<Part> parts, byte[] trailer) implements Reply {
        @Override
        public void release() {
            for (Part p : parts) {
                p.file().release();
            }
        }
    }

    private void deliver(Exchange ex, Reply reply) {
        if (reply instanceof CachedReply c) {
            c.cache().put(c.entry());
            reply = c.reply();
        }
        if (ex.isFinished() || ex.headSent()) {
            // The client went away (or the exchange was answered otherwise) while the file system was consulted.
            reply.release();
            return;
        }
        switch (reply) {
            case ErrorReply e -> {
                FullHttpResponse r = ex.services().errors().build(ex, e.status(), e.detail());
                e.headers().forEach(r.headers()::set);
                ex.respond(r);
            }
            case RedirectReply r -> {
                FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                        HttpResponseStatus.MOVED_PERMANENTLY, Unpooled.EMPTY_BUFFER);
                resp.headers().set(HttpHeaderNames.LOCATION, r.location());
                ex.respond(resp);
            }
            case BytesReply b -> {
                FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, b.status(),
                        Unpooled.wrappedBuffer(b.body()), b.headers(), new DefaultHttpHeaders());
                resp.headers().set(HttpHeaderNames.CONTENT_LENGTH, b.body().length);
                ex.respond(resp);
            }
            case FileReply f -> deliverFile(ex, f);
            case CachedReply c -> throw new IllegalStateException("unwrapped above");
        }
    }

    private static void deliverFile(Exchange ex, FileReply f) {
        List<Part> parts = f.parts();
        int handedOver = 0;
        try {
            ex.sendHead(new DefaultHttpResponse(HttpVersion.HTTP_1_1, f.status(), f.headers()));
            boolean zeroCopy = ex.zeroCopy();
            for (Part p : parts) {
                if (p.prefix() != null) {
                    ex.send(Unpooled.wrappedBuffer(p.prefix()));
                }
                Object body = p.file().content() != null ? p.file().slice(p.position(), p.count())
                        : zeroCopy ? OpenFile.region(p.file(), p.position(), p.count())
                        : OpenFile.chunked(p.file(), p.position(), p.count(), CHUNK_SIZE);
                handedOver++;
                ex.send(body);
            }
            if (f.trailer() != null) {
                ex.end(new DefaultLastHttpContent(Unpooled.wrappedBuffer(f.trailer())));
            } else {
                ex.end();
            }
        } catch (Throwable t) {
            for (int i = handedOver; i < parts.size(); i++) {
                parts.get(i).file().release();
            }
            LOG.warn("sending a file failed", t);
            if (!ex.isFinished()) {
                if (ex.headSent()) {
                    ex.abort();
                } else {
                    ex.sendError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "The file could not be sent.");
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        lookup.clear();
        for (CacheSlot slot : caches.values()) {
            if (slot.cache != null) {
                slot.cache.closeOnLoop();
            }
        }
    }
}
