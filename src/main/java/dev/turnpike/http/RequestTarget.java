package dev.turnpike.http;

/**
 * The request target split and normalised for routing. The path is what routes match and what is forwarded
 * upstream, so the router and the upstream never disagree about what was asked for: unreserved characters
 * that were percent-encoded are decoded (RFC 3986 §6.2.2.2), hex digits of remaining escapes are upper-cased,
 * and dot segments are removed (§5.2.4). A path whose dot segments climb above the root, or with a malformed
 * escape, is rejected. Encoded slashes ({@code %2F}) stay encoded, so they never create a segment.
 *
 * @param path      normalised path, starting with '/', or "*" for {@code OPTIONS *}
 * @param query     raw query without '?', or null when the target has none
 * @param authority authority of an absolute-form target, or null
 */
public record RequestTarget(String path, String query, String authority) {

    /** Returns the parsed target, or null when the target is malformed. */
    public static RequestTarget parse(String raw) {
        if (raw.equals("*")) {
            return new RequestTarget("*", null, null);
        }
        String authority = null;
        int start = 0;
        if (raw.charAt(0) != '/') {
            int schemeEnd = raw.indexOf("://");
            if (schemeEnd <= 0) {
                return null;
            }
            int authStart = schemeEnd + 3;
            int authEnd = authStart;
            while (authEnd < raw.length() && raw.charAt(authEnd) != '/' && raw.charAt(authEnd) != '?') {
                authEnd++;
            }
            authority = raw.substring(authStart, authEnd);
            if (authority.isEmpty() || authority.indexOf('@') >= 0) {
                return null;
            }
            start = authEnd;
        }
        int q = raw.indexOf('?', start);
        String rawPath = q < 0 ? raw.substring(start) : raw.substring(start, q);
        String query = q < 0 ? null : raw.substring(q + 1);
        if (rawPath.isEmpty()) {
            rawPath = "/";
        }
        String path = normalize(rawPath);
        return path == null ? null : new RequestTarget(path, query, authority);
    }

    /** The effective host of an authority (Host or :authority): lower case, without port or trailing dot. */
    public static String hostOf(String authority) {
        if (authority == null || authority.isEmpty()) {
            return "";
        }
        String host;
        if (authority.charAt(0) == '[') {
            int end = authority.indexOf(']');
            host = end < 0 ? authority : authority.substring(0, end + 1);
        } else {
            int colon = authority.lastIndexOf(':');
            host = colon < 0 ? authority : authority.substring(0, colon);
        }
        if (host.endsWith(".")) {
            host = host.substring(0, host.length() - 1);
        }
        return host.toLowerCase(java.util.Locale.ROOT);
    }

    static String normalize(String p) {
        if (p.indexOf('%') < 0 && p.indexOf("/.") < 0) {
            return p;
        }
        StringBuilder decoded = new StringBuilder(p.length());
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            if (c != '%') {
                decoded.append(c);
                continue;
            }
            if (i + 2 >= p.length()) {
                return null;
            }
            int hi = Character.digit(p.charAt(i + 1), 16);
            int lo = Character.digit(p.charAt(i + 2), 16);
            if (hi < 0 || lo < 0) {
                return null;
            }
            char v = (char) (hi * 16 + lo);
            if (isUnreserved(v)) {
                decoded.append(v);
            } else {
                decoded.append('%').append(Character.toUpperCase(p.charAt(i + 1))).append(Character.toUpperCase(p.charAt(i + 2)));
            }
            i += 2;
        }
        return removeDotSegments(decoded.toString());
    }

    private static boolean isUnreserved(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '-' || c == '.' || c == '_' || c == '~';
    }

    /** RFC 3986 §5.2.4 on an absolute path; null when ".." would climb above the root. */
    private static String removeDotSegments(String path) {
        if (path.indexOf("/.") < 0) {
            return path;
        }
        String[] segments = path.substring(1).split("/", -1);
        String[] out = new String[segments.length];
        int n = 0;
        boolean trailingSlash = false;
        for (int i = 0; i < segments.length; i++) {
            String s = segments[i];
            boolean last = i == segments.length - 1;
            if (s.equals(".")) {
                trailingSlash = last;
            } else if (s.equals("..")) {
                if (n == 0) {
                    return null;
                }
                n--;
                trailingSlash = last;
            } else {
                out[n++] = s;
                trailingSlash = false;
            }
        }
        StringBuilder sb = new StringBuilder(path.length());
        for (int i = 0; i < n; i++) {
            sb.append('/').append(out[i]);
        }
        if (trailingSlash || sb.isEmpty()) {
            sb.append('/');
        }
        return sb.toString();
    }
}
