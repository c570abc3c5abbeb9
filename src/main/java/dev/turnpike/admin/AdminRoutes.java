package dev.turnpike.admin;

import dev.turnpike.config.ErrorPages;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import dev.turnpike.http.RequestDispatcher;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The admin listener's routing: a table from path to {@link Handler}, with the token check in front of every entry.
 * {@link AdminApi} registers the built-in endpoints; other parts of Turnpike add theirs (the Prometheus metrics at
 * {@code /metrics}, the dashboard under {@code /dashboard/}):
 *
 * <pre>{@code
 * server.adminRoutes().register("/metrics", metricsHandler);       // GET /metrics, exactly
 * server.adminRoutes().registerTree("/dashboard", dashboardHandler);  // /dashboard and everything under /dashboard/
 * }</pre>
 *
 * <p>A handler answers every method of its path (it sends 405 for the others, e.g. with
 * {@link AdminResponses#allow}), runs on the admin connection's event loop like any route handler and must not block
 * it. The exact path wins over a tree; the longest tree wins over a shorter one. Registering works before and after
 * the server starts and whether or not the admin listener is enabled; the table lives as long as the server, and its
 * handlers are closed when the server stops.
 *
 * <p>Authentication: when {@code admin.token} is set, a request without {@code Authorization: Bearer <token>} (or
 * with another token) is answered 401 before any handler sees it; a GET or HEAD may carry it as {@code ?token=}
 * instead, for the dashboard in a browser. The comparison takes the same time whatever the given token, so it cannot
 * be guessed a byte at a time.
 */
public final class AdminRoutes implements RequestDispatcher, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AdminRoutes.class);
    private static final String BEARER = "Bearer ";

    private final Map<String, Handler> exact = new ConcurrentHashMap<>();
    /** Tree roots, longest first; replaced whole on a change (registration is rare, lookups are not). */
    private volatile List<Map.Entry<String, Handler>> trees = List.of();
    private final Object lock = new Object();
    /** The token's bytes, or null when no token is needed. */
    private volatile byte[] token;

    /**
     * Serves {@code path} exactly (no trailing slash, no query) with {@code handler}.
     *
     * @throws IllegalArgumentException when the path is malformed or already taken
     */
    public void register(String path, Handler handler) {
        check(path);
        synchronized (lock) {
            if (taken(path)) {
                throw new IllegalArgumentException("admin path " + path + " is already registered");
            }
            exact.put(path, handler);
        }
    }

    /**
     * Serves {@code path} and every path under {@code path + "/"} with {@code handler} (a dashboard's page, assets
     * and event stream); {@link Exchange#path()} tells them apart.
     *
     * @throws IllegalArgumentException when the path is malformed or already taken
     */
    public void registerTree(String path, Handler handler) {
        check(path);
        synchronized (lock) {
            if (taken(path)) {
                throw new IllegalArgumentException("admin path " + path + " is already registered");
            }
            List<Map.Entry<String, Handler>> next = new ArrayList<>(trees);
            next.add(Map.entry(path, handler));
            next.sort(Comparator.comparingInt((Map.Entry<String, Handler> e) -> e.getKey().length()).reversed());
            trees = List.copyOf(next);
        }
    }

    /** Every registered path, sorted; trees end in {@code /*}. */
    public List<String> paths() {
        TreeSet<String> out = new TreeSet<>(exact.keySet());
        for (Map.Entry<String, Handler> t : trees) {
            out.add(t.getKey().equals("/") ? "/*" : t.getKey() + "/*");
        }
        return List.copyOf(out);
    }

    /** Sets the token every request must carry; empty: none is needed. */
    public void token(Optional<String> t) {
        token = t.map(s -> s.getBytes(StandardCharsets.UTF_8)).orElse(null);
    }

    private boolean taken(String path) {
        return exact.containsKey(path) || trees.stream().anyMatch(e -> e.getKey().equals(path));
    }

    private static void check(String path) {
        if (path == null || !path.startsWith("/") || (path.length() > 1 && path.endsWith("/"))
                || path.contains("?") || path.contains("*") || path.contains("//")) {
            throw new IllegalArgumentException("an admin path starts with '/' and has no trailing '/', '?' or '*';"
                    + " got '" + path + "'");
        }
    }

    @Override
    public void dispatch(Exchange exchange) {
        if (!authorized(exchange)) {
            LOG.debug("admin request from {} refused: missing or wrong token", exchange.remoteAddress());
            exchange.routed("admin", null, ErrorPages.NONE, ErrorPages.NONE);
            AdminResponses.error(exchange, HttpResponseStatus.UNAUTHORIZED,
                    "this admin API needs a token: send Authorization: Bearer <admin.token>",
                    HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"turnpike-admin\"");
            return;
        }
        String path = exchange.path();
        Handler h = exact.get(path);
        if (h == null) {
            for (Map.Entry<String, Handler> t : trees) {
                String root = t.getKey();
                if (path.equals(root) || root.equals("/")
                        || (path.startsWith(root) && path.charAt(root.length()) == '/')) {
                    h = t.getValue();
                    break;
                }
            }
        }
        exchange.routed("admin", path, ErrorPages.NONE, ErrorPages.NONE);
        if (h == null) {
            AdminResponses.json(exchange, HttpResponseStatus.NOT_FOUND, Map.of(
                    "error", "not found", "message", "no admin endpoint at " + path, "endpoints", paths()));
            return;
        }
        h.handle(exchange);
    }

    private boolean authorized(Exchange exchange) {
        byte[] expected = token;
        if (expected == null) {
            return true;
        }
        String header = exchange.requestHeaders().get(HttpHeaderNames.AUTHORIZATION);
        String given;
        if (header != null) {
            if (header.length() < BEARER.length() || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
                return false;
            }
            given = header.substring(BEARER.length()).strip();
        } else {
            given = queryToken(exchange);
            if (given == null) {
                return false;
            }
        }
        // Constant time in the expected token's length, whatever is given.
        return MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * {@code ?token=...} on a GET or HEAD: a browser cannot send a header when it opens the dashboard (the page passes
     * the query on to its event stream). Never for a request that changes something, so a token that leaked with a URL
     * cannot drain an endpoint or reload.
     */
    private static String queryToken(Exchange exchange) {
        HttpMethod m = exchange.method();
        if ((m != HttpMethod.GET && m != HttpMethod.HEAD) || exchange.query() == null) {
            return null;
        }
        List<String> values = new QueryStringDecoder(exchange.query(), false).parameters().get("token");
        return values == null || values.size() != 1 ? null : values.getFirst();
    }

    /** Closes every registered handler (the server stops). */
    @Override
    public void close() {
        List<Handler> all = new ArrayList<>(exact.values());
        trees.forEach(e -> all.add(e.getValue()));
        for (Handler h : all) {
            try {
                h.close();
            } catch (RuntimeException e) {
                LOG.warn("closing admin handler failed", e);
            }
        }
    }
}
