package dev.turnpike.admin;

import dev.turnpike.config.ConfigTree;
import dev.turnpike.config.RouteConfig;
import dev.turnpike.config.SiteConfig;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.RequestTarget;
import dev.turnpike.logging.ServerLog;
import dev.turnpike.reload.ReloadResult;
import dev.turnpike.routing.Router;
import dev.turnpike.upstream.ConnectionPool;
import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.cluster.CircuitBreaker;
import dev.turnpike.upstream.cluster.ClusterRuntime;
import dev.turnpike.upstream.health.HealthSnapshot;
import dev.turnpike.upstream.lb.EndpointState;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The built-in admin endpoints (docs/operations.md lists them with examples). Every answer is JSON. Endpoints only
 * read in-memory state on the admin connection's event loop, except {@code POST /reload}, which runs on the server's
 * control thread and answers when it completes, back on the connection's loop.
 */
public final class AdminApi {
    private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);
    /** Largest request body an admin endpoint reads ({@code PUT /logging}). */
    static final int MAX_BODY = 16 * 1024;

    private final AdminTarget target;
    private final AdminRoutes routes;

    private AdminApi(AdminTarget target, AdminRoutes routes) {
        this.target = target;
        this.routes = routes;
    }

    /** Registers the built-in endpoints on {@code routes}. */
    public static void install(AdminRoutes routes, AdminTarget target) {
        AdminApi api = new AdminApi(target, routes);
        routes.register("/", api::index);
        routes.register("/healthz", api::healthz);
        routes.register("/readyz", api::readyz);
        routes.register("/config", api::config);
        routes.register("/reload", api::reload);
        routes.register("/routes/match", api::match);
        routes.registerTree("/clusters", api::clusters);
        routes.registerTree("/logging", api::logging);
    }

    // ------------------------------------------------------------------------------------------ liveness

    private void index(Exchange ex) {
        if (AdminResponses.allow(ex, HttpMethod.GET)) {
            AdminResponses.json(ex, HttpResponseStatus.OK, Map.of("endpoints", routes.paths()));
        }
    }

    /** Liveness: an event loop answered. */
    private void healthz(Exchange ex) {
        if (AdminResponses.allow(ex, HttpMethod.GET)) {
            AdminResponses.json(ex, HttpResponseStatus.OK, Map.of("status", "ok"));
        }
    }

    /** Readiness: listeners bound and not shutting down (503 otherwise, with the reason). */
    private void readyz(Exchange ex) {
        if (!AdminResponses.allow(ex, HttpMethod.GET)) {
            return;
        }
        Optional<String> why = target.notReady();
        if (why.isEmpty()) {
            AdminResponses.json(ex, HttpResponseStatus.OK, Map.of("status", "ready"));
        } else {
            AdminResponses.json(ex, HttpResponseStatus.SERVICE_UNAVAILABLE,
                    Map.of("status", "not ready", "reason", why.get()));
        }
    }

    // ------------------------------------------------------------------------------------------ configuration

    /** The effective configuration (defaults filled in, ${ENV} expanded), secrets redacted. */
    private void config(Exchange ex) {
        if (AdminResponses.allow(ex, HttpMethod.GET)) {
            AdminResponses.json(ex, HttpResponseStatus.OK, ConfigTree.of(target.serving().config()));
        }
    }

    private void reload(Exchange ex) {
        if (!AdminResponses.allow(ex, HttpMethod.POST)) {
            return;
        }
        CompletableFuture<ReloadResult> result = target.reload("admin API");
        result.whenComplete((r, failure) -> ex.eventLoop().execute(() -> {
            if (failure != null) {
                AdminResponses.error(ex, HttpResponseStatus.INTERNAL_SERVER_ERROR, "reload failed: " + failure);
                return;
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("outcome", r.outcome().name().toLowerCase(Locale.ROOT));
            HttpResponseStatus status = switch (r.outcome()) {
                case APPLIED -> {
                    body.put("changes", r.diff().lines());
                    body.put("notes", r.notes());
                    yield HttpResponseStatus.OK;
                }
                // The file is not valid: the client's configuration is at fault, the running one keeps serving.
                case REFUSED -> {
                    body.put("problems", r.problems());
                    yield HttpResponseStatus.UNPROCESSABLE_ENTITY;
                }
                // Valid, but it cannot be put in place now (a port taken), or there is no file: nothing changed.
                case FAILED, UNAVAILABLE -> {
                    body.put("problems", r.problems());
                    yield HttpResponseStatus.CONFLICT;
                }
            };
            AdminResponses.json(ex, status, body);
        }));
    }

    /** Which site and route would answer {@code ?method=&host=&path=} (and {@code header=Name:value}, repeatable). */
    private void match(Exchange ex) {
        if (!AdminResponses.allow(ex, HttpMethod.GET)) {
            return;
        }
        Map<String, List<String>> q = new QueryStringDecoder(ex.query() == null ? "" : ex.query(), false).parameters();
        String rawPath = first(q, "path", "/");
        RequestTarget t = rawPath.startsWith("/") ? RequestTarget.parse(rawPath) : null;
        if (t == null) {
            AdminResponses.error(ex, HttpResponseStatus.BAD_REQUEST, "path must be a request path such as /api/users,"
                    + " got '" + rawPath + "'");
            return;
        }
        String host = hostOf(first(q, "host", ""));
        HttpMethod method;
        try {
            method = HttpMethod.valueOf(first(q, "method", "GET").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            AdminResponses.error(ex, HttpResponseStatus.BAD_REQUEST, "method must be an HTTP method such as GET");
            return;
        }
        HttpHeaders headers = new DefaultHttpHeaders();
        for (String h : q.getOrDefault("header", List.of())) {
            int colon = h.indexOf(':');
            if (colon <= 0) {
                AdminResponses.error(ex, HttpResponseStatus.BAD_REQUEST, "header must be Name:value, got '" + h + "'");
                return;
            }
            headers.add(h.substring(0, colon).strip(), h.substring(colon + 1).strip());
        }
        AdminTarget.Serving serving = target.serving();
        Router.Match m = serving.router().match(host, t.path(), method, headers);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("method", method.name());
        body.put("host", host);
        body.put("path", t.path());
        body.put("site", m.site() == null ? null : m.site().name());
        body.put("route", m.route() == null ? null : m.route().name());
        if (m.route() != null) {
            body.put("position", m.route().position().toString());
            RouteConfig rc = routeConfig(serving, m.site().name(), m.route().name());
            body.put("handler", rc == null ? null : ConfigTree.of(rc.handler(), true));
        } else {
            body.put("status", m.site() == null || m.allowed().isEmpty() ? 404 : 405);
            body.put("reason", m.site() == null ? "no site answers this host"
                    : m.allowed().isEmpty() ? "no route of the site matches this path"
                    : method.name() + " is not allowed here");
            if (!m.allowed().isEmpty()) {
                body.put("allowed", List.copyOf(m.allowed()));
            }
        }
        AdminResponses.json(ex, HttpResponseStatus.OK, body);
    }

    private static RouteConfig routeConfig(AdminTarget.Serving serving, String site, String route) {
        for (SiteConfig s : serving.config().sites()) {
            if (s.name().equals(site)) {
                for (RouteConfig r : s.routes()) {
                    if (r.name().equals(route)) {
                        return r;
                    }
                }
            }
        }
        return null;
    }

    /** Lower case, without the port or a trailing dot, as the router sees a Host header. */
    static String hostOf(String authority) {
        String h = authority.strip();
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            h = end < 0 ? h : h.substring(0, end + 1);
        } else if (h.indexOf(':') >= 0) {
            h = h.substring(0, h.lastIndexOf(':'));
        }
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return h.toLowerCase(Locale.ROOT);
    }

    private static String first(Map<String, List<String>> q, String key, String dflt) {
        List<String> v = q.get(key);
        return v == null || v.isEmpty() ? dflt : v.getFirst();
    }

    // ------------------------------------------------------------------------------------------ clusters

    /**
     * {@code GET /clusters}, {@code GET /clusters/{c}}, {@code POST /clusters/{c}/endpoints/{e}/drain} and
     * {@code .../enable}. An endpoint is named as in the configuration ({@code 10.0.0.1:8080}, {@code unix:/path}
     * with the slashes percent-encoded).
     */
    private void clusters(Exchange ex) {
        String rest = ex.path().substring("/clusters".length());
        List<String> parts = new ArrayList<>();
        for (String p : rest.split("/")) {
            if (!p.isEmpty()) {
                parts.add(percentDecode(p));
            }
        }
        Collection<ClusterRuntime> all = target.serving().clusters().all();
        if (parts.isEmpty()) {
            if (AdminResponses.allow(ex, HttpMethod.GET)) {
                describe(ex, all, true);
            }
            return;
        }
        ClusterRuntime c = target.serving().clusters().get(parts.getFirst());
        if (c == null) {
            AdminResponses.error(ex, HttpResponseStatus.NOT_FOUND, "no cluster '" + parts.getFirst() + "'; clusters: "
                    + String.join(", ", all.stream().map(ClusterRuntime::name).toList()));
            return;
        }
        if (parts.size() == 1) {
            if (AdminResponses.allow(ex, HttpMethod.GET)) {
                describe(ex, List.of(c), false);
            }
            return;
        }
        if (parts.size() != 4 || !parts.get(1).equals("endpoints")
                || !(parts.get(3).equals("drain") || parts.get(3).equals("enable"))) {
            AdminResponses.error(ex, HttpResponseStatus.NOT_FOUND, "expected /clusters/{cluster},"
                    + " /clusters/{cluster}/endpoints/{endpoint}/drain or .../enable");
            return;
        }
        if (!AdminResponses.allow(ex, HttpMethod.POST)) {
            return;
        }
        EndpointState e = c.endpoint(parts.get(2));
        if (e == null) {
            AdminResponses.error(ex, HttpResponseStatus.NOT_FOUND, "cluster " + c.name() + " has no endpoint '"
                    + parts.get(2) + "'; endpoints: " + String.join(", ", c.endpoints().stream().map(c::address).toList()));
            return;
        }
        boolean changed = parts.get(3).equals("drain") ? c.drain(e) : c.enable(e);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("cluster", c.name());
        body.put("endpoint", c.address(e));
        body.put("health", e.health().name().toLowerCase(Locale.ROOT));
        body.put("reason", e.downReason());
        body.put("changed", changed);
        body.put("in_flight", e.inFlight());
        AdminResponses.json(ex, HttpResponseStatus.OK, body);
    }

    private static void describe(Exchange ex, Collection<ClusterRuntime> clusters, boolean list) {
        List<Object> out = new ArrayList<>();
        for (ClusterRuntime c : clusters) {
            out.add(cluster(c));
        }
        AdminResponses.json(ex, HttpResponseStatus.OK, list ? Map.of("clusters", out) : out.getFirst());
    }

    private static Map<String, Object> cluster(ClusterRuntime c) {
        // Each pool's counts belong to its event loop; read from here they are a moment's view, as for the metrics.
        Map<Endpoint, int[]> pools = new HashMap<>();
        for (ConnectionPool p : c.pools().pools()) {
            int[] u = pools.computeIfAbsent(p.endpoint(), k -> new int[3]);
            u[0] += p.openConnections();
            u[1] += p.idleConnections();
            u[2] += p.pendingRequests();
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", c.name());
        m.put("policy", c.config().loadBalancing().policy());
        m.put("active_checks", c.hasActiveChecks());
        m.put("outlier_detection", c.hasOutlierDetection());
        CircuitBreaker cb = c.circuitBreaker();
        Map<String, Object> load = new LinkedHashMap<>();
        for (CircuitBreaker.Kind k : CircuitBreaker.Kind.values()) {
            String name = k.name().toLowerCase(Locale.ROOT);
            load.put(name, cb.current(k));
            load.put("max_" + name, cb.limit(k));
            load.put(name + "_refused", cb.trips(k));
        }
        m.put("load", load);
        Map<String, Object> retries = new LinkedHashMap<>();
        retries.put("in_flight", c.retryBudget().retriesInFlight());
        retries.put("refused_by_budget", c.retryBudget().exhausted());
        m.put("retries", retries);
        HealthSnapshot health = c.healthSnapshot();
        List<Object> endpoints = new ArrayList<>();
        for (EndpointState s : c.endpoints()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("address", c.address(s));
            e.put("weight", s.weight());
            e.put("backup", s.isBackup());
            e.put("health", s.health().name().toLowerCase(Locale.ROOT));
            e.put("reason", s.downReason());
            e.put("in_flight", s.inFlight());
            e.put("requests", s.totalRequests());
            e.put("failures", s.totalFailures());
            HealthSnapshot.EndpointView view = health.find(s.endpoint());
            if (view != null) {
                e.put("since", view.since().toString());
                e.put("check", view.check().name().toLowerCase(Locale.ROOT));
                e.put("last_check", view.lastCheck());
                e.put("ejected", view.ejected());
                e.put("ejection_remaining_ms", view.ejectionRemaining().toMillis());
                e.put("ejections", view.totalEjections());
            }
            int[] u = pools.getOrDefault(s.endpoint(), new int[3]);
            Map<String, Object> pool = new LinkedHashMap<>();
            pool.put("open", u[0]);
            pool.put("idle", u[1]);
            pool.put("pending", u[2]);
            e.put("pool", pool);
            endpoints.add(e);
        }
        m.put("endpoints", endpoints);
        return m;
    }

    static String percentDecode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()) {
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi >= 0 && lo >= 0) {
                    out.write(hi * 16 + lo);
                    i += 2;
                    continue;
                }
            }
            out.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------------------------------ logging

    /** {@code GET /logging}, {@code GET /logging/{logger}}, {@code PUT /logging/{logger}} with {@code {"level": ...}}. */
    private void logging(Exchange ex) {
        String name = ex.path().length() > "/logging/".length() ? ex.path().substring("/logging/".length()) : "";
        if (name.isEmpty()) {
            if (AdminResponses.allow(ex, HttpMethod.GET)) {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("format", ServerLog.format().map(f -> f.name().toLowerCase(Locale.ROOT)).orElse(null));
                body.put("root", ServerLog.level(org.slf4j.Logger.ROOT_LOGGER_NAME).map(AdminApi::level).orElse(null));
                AdminResponses.json(ex, HttpResponseStatus.OK, body);
            }
            return;
        }
        if (!AdminResponses.allow(ex, HttpMethod.GET, HttpMethod.PUT)) {
            return;
        }
        if (ex.method().equals(HttpMethod.PUT)) {
            AdminResponses.readBody(ex, MAX_BODY, text -> setLevel(ex, name, text));
            return;
        }
        Optional<ServerLog.LoggerLevel> l = ServerLog.level(name);
        if (l.isEmpty()) {
            AdminResponses.error(ex, HttpResponseStatus.NOT_IMPLEMENTED, "the server log is not logback's");
        } else {
            AdminResponses.json(ex, HttpResponseStatus.OK, level(l.get()));
        }
    }

    private static void setLevel(Exchange ex, String name, String text) {
        String level;
        try {
            if (!(Json.parse(text) instanceof Map<?, ?> m) || !m.containsKey("level")
                    || !(m.get("level") == null || m.get("level") instanceof String)) {
                throw new IllegalArgumentException("expected {\"level\": \"DEBUG\"} (or null to inherit)");
            }
            level = (String) m.get("level");
        } catch (IllegalArgumentException e) {
            AdminResponses.error(ex, HttpResponseStatus.BAD_REQUEST, e.getMessage());
            return;
        }
        Optional<ServerLog.LoggerLevel> after;
        try {
            after = ServerLog.setLevel(name, level);
        } catch (IllegalArgumentException e) {
            AdminResponses.error(ex, HttpResponseStatus.BAD_REQUEST, e.getMessage());
            return;
        }
        if (after.isEmpty()) {
            AdminResponses.error(ex, HttpResponseStatus.NOT_IMPLEMENTED, "the server log is not logback's");
            return;
        }
        LOG.atInfo().addKeyValue("event", "log_level_changed").addKeyValue("logger", name)
                .addKeyValue("level", after.get().level())
                .log("log level of {} set to {} (admin API)", name,
                        after.get().level() == null ? "inherit (" + after.get().effective() + ")" : after.get().level());
        AdminResponses.json(ex, HttpResponseStatus.OK, level(after.get()));
    }

    private static Map<String, Object> level(ServerLog.LoggerLevel l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("logger", l.logger());
        m.put("level", l.level());
        m.put("effective", l.effective());
        return m;
    }
}
