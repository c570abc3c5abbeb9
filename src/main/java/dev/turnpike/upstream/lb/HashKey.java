package dev.turnpike.upstream.lb;

import java.net.InetAddress;
import java.util.Locale;
import java.util.Objects;

/**
 * What a hash policy hashes: the client address, a header, a cookie, the path or a query parameter. Written in the
 * configuration as {@code client_address}, {@code path}, {@code header:NAME}, {@code cookie:NAME} or
 * {@code query:NAME} (see {@link #parse}). An absent or empty value makes the policy fall back to round robin.
 *
 * @param name the header, cookie or parameter name; null for the client address and the path
 */
public record HashKey(Source source, String name) {

    public enum Source { CLIENT_ADDRESS, HEADER, COOKIE, PATH, QUERY_PARAM }

    public static final HashKey CLIENT_ADDRESS = new HashKey(Source.CLIENT_ADDRESS, null);
    public static final HashKey PATH = new HashKey(Source.PATH, null);

    public HashKey {
        Objects.requireNonNull(source, "source");
        boolean named = source == Source.HEADER || source == Source.COOKIE || source == Source.QUERY_PARAM;
        if (named && (name == null || name.isBlank())) {
            throw new IllegalArgumentException("a " + source.name().toLowerCase(Locale.ROOT) + " hash key needs a name");
        }
        if (!named && name != null) {
            throw new IllegalArgumentException("a " + source.name().toLowerCase(Locale.ROOT) + " hash key takes no name");
        }
    }

    public static HashKey header(String name) {
        return new HashKey(Source.HEADER, name);
    }

    public static HashKey cookie(String name) {
        return new HashKey(Source.COOKIE, name);
    }

    public static HashKey queryParam(String name) {
        return new HashKey(Source.QUERY_PARAM, name);
    }

    /**
     * Parses {@code client_address} (or {@code ip}), {@code path}, {@code header:NAME}, {@code cookie:NAME},
     * {@code query:NAME}.
     *
     * @throws IllegalArgumentException with a message fit for a configuration error
     */
    public static HashKey parse(String spec) {
        Objects.requireNonNull(spec, "spec");
        String s = spec.trim();
        int colon = s.indexOf(':');
        String kind = (colon < 0 ? s : s.substring(0, colon)).trim().toLowerCase(Locale.ROOT);
        String name = colon < 0 ? null : s.substring(colon + 1).trim();
        switch (kind) {
            case "client_address", "ip" -> {
                if (name != null) {
                    throw new IllegalArgumentException("hash key '" + spec + "': client_address takes no name");
                }
                return CLIENT_ADDRESS;
            }
            case "path" -> {
                if (name != null) {
                    throw new IllegalArgumentException("hash key '" + spec + "': path takes no name");
                }
                return PATH;
            }
            case "header", "cookie", "query" -> {
                if (name == null || name.isEmpty()) {
                    throw new IllegalArgumentException("hash key '" + spec + "': expected " + kind + ":NAME");
                }
                return switch (kind) {
                    case "header" -> header(name);
                    case "cookie" -> cookie(name);
                    default -> queryParam(name);
                };
            }
            default -> throw new IllegalArgumentException("hash key '" + spec
                    + "': expected client_address, path, header:NAME, cookie:NAME or query:NAME");
        }
    }

    /**
     * The value to hash for this request: an {@link InetAddress} or a non-empty {@link CharSequence}; null when
     * absent or empty.
     */
    public Object value(PickContext ctx) {
        CharSequence v;
        switch (source) {
            case CLIENT_ADDRESS -> {
                return ctx.clientAddress();
            }
            case HEADER -> v = ctx.header(name);
            case COOKIE -> v = ctx.cookie(name);
            case PATH -> v = ctx.path();
            default -> v = ctx.queryParam(name);
        }
        return v == null || v.isEmpty() ? null : v;
    }

    /** The XXH64 of a {@link #value}: the address bytes (network order) or the UTF-8 text. */
    public static long hashValue(Object value) {
        if (value instanceof InetAddress a) {
            return XxHash64.hash(a.getAddress());
        }
        return XxHash64.hash((CharSequence) value);
    }

    @Override
    public String toString() {
        return switch (source) {
            case CLIENT_ADDRESS -> "client_address";
            case PATH -> "path";
            case HEADER -> "header:" + name;
            case COOKIE -> "cookie:" + name;
            case QUERY_PARAM -> "query:" + name;
        };
    }
}
