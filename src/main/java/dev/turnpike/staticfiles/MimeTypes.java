package dev.turnpike.staticfiles;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Media types by file extension for the common web formats. Textual types carry {@code charset=utf-8};
 * anything unknown is {@code application/octet-stream} (which, with {@code nosniff}, browsers download rather
 * than guess).
 */
public final class MimeTypes {
    public static final String OCTET_STREAM = "application/octet-stream";

    private static final String UTF8 = "; charset=utf-8";
    private static final Map<String, String> TYPES = new HashMap<>();

    static {
        // text, with charset
        text("html", "text/html");
        text("htm", "text/html");
        text("css", "text/css");
        text("js", "text/javascript");
        text("mjs", "text/javascript");
        text("cjs", "text/javascript");
        text("txt", "text/plain");
        text("text", "text/plain");
        text("csv", "text/csv");
        text("md", "text/markdown");
        text("markdown", "text/markdown");
        text("ics", "text/calendar");
        text("vtt", "text/vtt");
        text("json", "application/json");
        text("map", "application/json");
        text("jsonld", "application/ld+json");
        text("webmanifest", "application/manifest+json");
        text("xml", "application/xml");
        text("xsl", "application/xml");
        text("rss", "application/rss+xml");
        text("atom", "application/atom+xml");
        text("svg", "image/svg+xml");
        text("yaml", "application/yaml");
        text("yml", "application/yaml");
        text("toml", "application/toml");
        // images
        binary("png", "image/png");
        binary("apng", "image/apng");
        binary("jpg", "image/jpeg");
        binary("jpeg", "image/jpeg");
        binary("gif", "image/gif");
        binary("webp", "image/webp");
        binary("avif", "image/avif");
        binary("ico", "image/x-icon");
        binary("bmp", "image/bmp");
        binary("tif", "image/tiff");
        binary("tiff", "image/tiff");
        binary("svgz", "image/svg+xml");
        // fonts
        binary("woff", "font/woff");
        binary("woff2", "font/woff2");
        binary("ttf", "font/ttf");
        binary("otf", "font/otf");
        binary("eot", "application/vnd.ms-fontobject");
        // media
        binary("mp4", "video/mp4");
        binary("m4v", "video/mp4");
        binary("webm", "video/webm");
        binary("ogv", "video/ogg");
        binary("mov", "video/quicktime");
        binary("mp3", "audio/mpeg");
        binary("m4a", "audio/mp4");
        binary("ogg", "audio/ogg");
        binary("oga", "audio/ogg");
        binary("opus", "audio/ogg");
        binary("wav", "audio/wav");
        binary("flac", "audio/flac");
        // documents, archives, code
        binary("pdf", "application/pdf");
        binary("wasm", "application/wasm");
        binary("zip", "application/zip");
        binary("gz", "application/gzip");
        binary("tgz", "application/gzip");
        binary("br", "application/x-brotli");
        binary("zst", "application/zstd");
        binary("tar", "application/x-tar");
        binary("7z", "application/x-7z-compressed");
        binary("bin", OCTET_STREAM);
    }

    private MimeTypes() {}

    private static void text(String ext, String type) {
        TYPES.put(ext, type + UTF8);
    }

    private static void binary(String ext, String type) {
        TYPES.put(ext, type);
    }

    /** The Content-Type for a file name (only its last extension counts, case-insensitively). */
    public static String forFileName(String name) {
        int dot = name.lastIndexOf('.');
        if (dot <= 0 || dot == name.length() - 1) {
            return OCTET_STREAM;
        }
        String t = TYPES.get(name.substring(dot + 1).toLowerCase(Locale.ROOT));
        return t != null ? t : OCTET_STREAM;
    }
}
