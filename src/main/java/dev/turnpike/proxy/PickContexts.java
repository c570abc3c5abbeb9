package dev.turnpike.proxy;

import io.netty.handler.codec.http.QueryStringDecoder;

import java.nio.charset.StandardCharsets;

/** Lazy lookups for the proxy's {@code PickContext}: one cookie of a Cookie header, one query parameter. */
final class PickContexts {
    private PickContexts() {
    }

    /** The value of cookie {@code name} in one {@code Cookie} header value ({@code a=1; b=2}), or null. */
    static String cookie(String header, String name) {
        int n = header.length();
        int i = 0;
        while (i < n) {
            while (i < n && (header.charAt(i) == ' ' || header.charAt(i) == '\t')) {
                i++;
            }
            int end = header.indexOf(';', i);
            if (end < 0) {
                end = n;
            }
            int eq = header.indexOf('=', i);
            if (eq > i && eq < end && eq - i == name.length() && header.regionMatches(i, name, 0, name.length())) {
                String v = header.substring(eq + 1, end).strip();
                if (v.length() >= 2 && v.charAt(0) == '"' && v.charAt(v.length() - 1) == '"') {
                    v = v.substring(1, v.length() - 1);
                }
                return v;
            }
            i = end + 1;
        }
        return null;
    }

    /** The first value of parameter {@code name} in a raw query ({@code a=1&b=2}), percent-decoded, or null. */
    static String queryParam(String query, String name) {
        if (query == null || query.isEmpty()) {
            return null;
        }
        int n = query.length();
        int i = 0;
        while (i <= n) {
            int end = query.indexOf('&', i);
            if (end < 0) {
                end = n;
            }
            int eq = query.indexOf('=', i);
            int keyEnd = eq >= 0 && eq < end ? eq : end;
            String key = QueryStringDecoder.decodeComponent(query.substring(i, keyEnd), StandardCharsets.UTF_8);
            if (key.equals(name)) {
                return keyEnd == end ? ""
                        : QueryStringDecoder.decodeComponent(query.substring(keyEnd + 1, end), StandardCharsets.UTF_8);
            }
            i = end + 1;
        }
        return null;
    }
}
