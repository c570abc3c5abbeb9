package dev.turnpike.http;

import java.util.List;
import java.util.Locale;

/**
 * A list of browser origins a route accepts, as the configuration writes them ({@code https://app.example.com},
 * {@code https://*.example.com}, or {@code *} for any), compiled once; thread-safe. Shared by the routes that check an
 * {@code Origin} header: WebSocket handshakes and gRPC-Web's CORS.
 */
public final class AllowedOrigins {
    private final boolean any;
    private final List<String> exact;
    /** {@code scheme://} + {@code .example.com[:port]} for {@code scheme://*.example.com[:port]}. */
    private final List<String[]> wildcards;

    public AllowedOrigins(List<String> origins) {
        this.any = origins.contains("*");
        this.exact = origins.stream().filter(o -> !o.equals("*") && !o.contains("://*.")).toList();
        this.wildcards = origins.stream().filter(o -> o.contains("://*."))
                .map(o -> new String[] {o.substring(0, o.indexOf("://") + 3), o.substring(o.indexOf("://") + 4)})
                .toList();
    }

    /** Whether nothing is listed. */
    public boolean isEmpty() {
        return !any && exact.isEmpty() && wildcards.isEmpty();
    }

    /** Whether {@code *} is listed. */
    public boolean any() {
        return any;
    }

    /** Whether {@code origin} (as a browser sends it) is listed; false for null. */
    public boolean contains(String origin) {
        if (origin == null) {
            return false;
        }
        if (any) {
            return true;
        }
        String o = origin.strip().toLowerCase(Locale.ROOT);
        if (exact.contains(o)) {
            return true;
        }
        for (String[] w : wildcards) {
            // https://*.example.com matches https://a.example.com and https://a.b.example.com, not https://example.com
            if (o.startsWith(w[0]) && o.endsWith(w[1]) && o.length() > w[0].length() + w[1].length()) {
                return true;
            }
        }
        return false;
    }
}
