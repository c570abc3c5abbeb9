package dev.turnpike.staticfiles;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.turnpike.http.ContentNegotiation;
import dev.turnpike.http.ErrorResponder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Directory listings: entries are read on the blocking executor ({@link #read}), then rendered as HTML or JSON.
 * Dotfiles are left out unless show_hidden; symlinks are listed only when they resolve to a file or directory
 * below the root (so a listing never reveals metadata of files outside it). Directories come first, then names
 * in case-insensitive order. At most {@link #MAX_ENTRIES} entries are listed.
 */
public final class DirectoryListing {
    static final int MAX_ENTRIES = 10_000;

    private static final JsonFactory JSON = new JsonFactory();
    private static final DateTimeFormatter DISPLAY_DATE =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss", Locale.ROOT).withZone(ZoneOffset.UTC);

    /** One entry; {@code size} is -1 for directories. */
    public record Entry(String name, boolean directory, long size, long mtimeMillis) {}

    /**
     * @param entries   sorted entries
     * @param truncated whether the directory had more than {@link #MAX_ENTRIES} visible entries
     */
    public record Contents(List<Entry> entries, boolean truncated) {}

    static final Comparator<Entry> ORDER = Comparator.comparing((Entry e) -> !e.directory())
            .thenComparing(Entry::name, String.CASE_INSENSITIVE_ORDER)
            .thenComparing(Entry::name);

    private DirectoryListing() {}

    /** Reads {@code dir} (a real path below the root); blocking. */
    static Contents read(Path dir, FileLookup lookup, boolean showHidden) throws IOException {
        List<Entry> entries = new ArrayList<>();
        boolean truncated = false;
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path p : stream) {
                String name = p.getFileName().toString();
                if (!showHidden && name.startsWith(".")) {
                    continue;
                }
                Entry e = entry(p, name, lookup, showHidden);
                if (e == null) {
                    continue;
                }
                if (entries.size() >= MAX_ENTRIES) {
                    truncated = true;
                    break;
                }
                entries.add(e);
            }
        }
        entries.sort(ORDER);
        return new Contents(List.copyOf(entries), truncated);
    }

    private static Entry entry(Path p, String name, FileLookup lookup, boolean showHidden) {
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (a.isSymbolicLink()) {
                FileLookup.Info info = lookup.stat(p);
                if (!info.visible(showHidden)) {
                    return null;
                }
                return switch (info.kind()) {
                    case REGULAR -> new Entry(name, false, info.size(), info.mtimeMillis());
                    case DIRECTORY -> new Entry(name, true, -1, info.mtimeMillis());
                    default -> null;
                };
            }
            if (a.isDirectory()) {
                return new Entry(name, true, -1, a.lastModifiedTime().toMillis());
            }
            if (a.isRegularFile()) {
                return new Entry(name, false, a.size(), a.lastModifiedTime().toMillis());
            }
            return null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether the client asked for JSON: {@code ?format=json}, or Accept ranks application/json above HTML. */
    static boolean wantsJson(String query, String accept) {
        if (query != null) {
            for (String param : query.split("&")) {
                if (param.equals("format=json")) {
                    return true;
                }
                if (param.equals("format=html")) {
                    return false;
                }
            }
        }
        return ContentNegotiation.prefersJson(accept);
    }

    /**
     * @param displayPath the request path as the client sees it, decoded, ending with '/'
     * @param showParent  whether to link "../" (false at the top of the mapping)
     */
    static byte[] html(String displayPath, Contents contents, boolean showParent) {
        String title = "Index of " + ErrorResponder.escapeHtml(displayPath);
        StringBuilder sb = new StringBuilder(512 + contents.entries().size() * 160);
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
                .append("<title>").append(title).append("</title>\n<style>")
                .append("body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}")
                .append("th,td{padding:.2em 1.2em .2em 0;text-align:left}td.s{text-align:right}")
                .append("</style></head>\n<body><h1>").append(title).append("</h1>\n<table>\n")
                .append("<thead><tr><th>Name</th><th>Size</th><th>Last modified (UTC)</th></tr></thead>\n<tbody>\n");
        if (showParent) {
            sb.append("<tr><td><a href=\"../\">../</a></td><td class=\"s\">-</td><td></td></tr>\n");
        }
        for (Entry e : contents.entries()) {
            String shown = e.name() + (e.directory() ? "/" : "");
            String href = "./" + encodeSegment(e.name()) + (e.directory() ? "/" : "");
            String when = DISPLAY_DATE.format(Instant.ofEpochMilli(e.mtimeMillis()));
            sb.append("<tr><td><a href=\"").append(ErrorResponder.escapeHtml(href)).append("\">")
                    .append(ErrorResponder.escapeHtml(shown)).append("</a></td><td class=\"s\"");
            if (e.directory()) {
                sb.append(">-");
            } else {
                sb.append(" title=\"").append(e.size()).append(" bytes\">").append(humanSize(e.size()));
            }
            sb.append("</td><td><time datetime=\"")
                    .append(Instant.ofEpochMilli(e.mtimeMillis()).truncatedTo(java.time.temporal.ChronoUnit.SECONDS))
                    .append("\">").append(when).append("</time></td></tr>\n");
        }
        sb.append("</tbody></table>\n");
        if (contents.truncated()) {
            sb.append("<p>Only the first ").append(MAX_ENTRIES).append(" entries are shown.</p>\n");
        }
        sb.append("</body></html>\n");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static byte[] json(String displayPath, Contents contents) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + contents.entries().size() * 96);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("path", displayPath);
            g.writeBooleanField("truncated", contents.truncated());
            g.writeArrayFieldStart("entries");
            for (Entry e : contents.entries()) {
                g.writeStartObject();
                g.writeStringField("name", e.name());
                g.writeStringField("type", e.directory() ? "directory" : "file");
                if (!e.directory()) {
                    g.writeNumberField("size", e.size());
                }
                g.writeStringField("modified",
                        Instant.ofEpochMilli(e.mtimeMillis()).truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.write('\n');
        return out.toByteArray();
    }

    /** Percent-encodes a file name for use as one relative path segment (everything but unreserved). */
    static String encodeSegment(String name) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(bytes.length + 8);
        for (byte b : bytes) {
            int c = b & 0xFF;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_' || c == '~') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
            }
        }
        return sb.toString();
    }

    static String humanSize(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
