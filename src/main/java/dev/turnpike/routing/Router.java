package dev.turnpike.routing;

import dev.turnpike.config.HandlerConfig;
import dev.turnpike.config.RouteConfig;
import dev.turnpike.config.SiteConfig;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import dev.turnpike.http.RequestDispatcher;
import dev.turnpike.metrics.RouteMeter;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;

/**
 * Chooses the site by host, then the route by path, method and headers, with one precedence rule:
 * exact host &gt; longest wildcard suffix &gt; default site; within a site, exact path &gt; regex &gt;
 * longest prefix &gt; no path, then more conditions, then file order. Routes are sorted once at compile time, so a
 * lookup is a hash probe for the site and a first-match scan over its routes.
 */
public final class Router implements RequestDispatcher {
    private final Map<String, Site> exactHosts;
    private final Map<String, Site> wildcardSuffixes;
    private final Site defaultSite;
    private final List<Handler> handlers;

    private Router(Map<String, Site> exactHosts, Map<String, Site> wildcardSuffixes, Site defaultSite,
                   List<Handler> handlers) {
        this.exactHosts = exactHosts;
        this.wildcardSuffixes = wildcardSuffixes;
        this.defaultSite = defaultSite;
        this.handlers = handlers;
    }

    /**
     * @param handlerFactory builds the handler of each route; called once per route
     */
    public static Router compile(List<SiteConfig> sites, BiFunction<RouteConfig, HandlerConfig, Handler> handlerFactory) {
        return compile(sites, handlerFactory, (site, route) -> null);
    }

    /**
     * @param handlerFactory builds the handler of each route; called once per route
     * @param meters         the metrics of each route (site, route), resolved here once rather than per request
     */
    public static Router compile(List<SiteConfig> sites, BiFunction<RouteConfig, HandlerConfig, Handler> handlerFactory,
                                 BiFunction<SiteConfig, RouteConfig, RouteMeter> meters) {
        Map<String, Site> exact = new HashMap<>();
        Map<String, Site> wildcard = new HashMap<>();
        Site defaultSite = null;
        List<Handler> handlers = new ArrayList<>();
        for (SiteConfig sc : sites) {
            List<Route> routes = new ArrayList<>();
            int index = 0;
            for (RouteConfig rc : sc.routes()) {
                Handler h = handlerFactory.apply(rc, rc.handler());
                handlers.add(h);
                Set<HttpMethod> methods = new LinkedHashSet<>();
                rc.methods().forEach(m -> methods.add(HttpMethod.valueOf(m)));
                routes.add(new Route(rc.name(), rc.path().orElse(null), Set.copyOf(methods),
                        List.copyOf(new ArrayList<>(rc.headers().entrySet())), h, rc.errorPages(), rc.position(), index++,
                        meters.apply(sc, rc)));
            }
            routes.sort(PRECEDENCE);
            Site site = new Site(sc.name(), routes, sc.errorPages());
            for (String host : sc.hosts()) {
                if (host.equals("*")) {
                    continue;
                }
                if (host.startsWith("*.")) {
                    wildcard.put(host.substring(1), site);
                } else {
                    exact.put(host, site);
                }
            }
            if (sc.isDefault()) {
                defaultSite = site;
            }
        }
        return new Router(Map.copyOf(exact), Map.copyOf(wildcard), defaultSite, List.copyOf(handlers));
    }

    static final Comparator<Route> PRECEDENCE = Comparator.comparingInt(Route::kindRank).reversed()
            .thenComparing(Comparator.comparingInt(Route::prefixLength).reversed())
            .thenComparing(Comparator.comparingInt(Route::conditionCount).reversed())
            .thenComparingInt(Route::fileIndex);

    /** The site for a normalised host (lower case, no port), or null. */
    public Site site(String host) {
        Site s = exactHosts.get(host);
        if (s != null) {
            return s;
        }
        if (!wildcardSuffixes.isEmpty()) {
            int dot = host.indexOf('.');
            while (dot >= 0) {
                s = wildcardSuffixes.get(host.substring(dot));
                if (s != null) {
                    return s;
                }
                dot = host.indexOf('.', dot + 1);
            }
        }
        return defaultSite;
    }

    /**
     * The winning route of {@code site}, or null. A route without a path condition answers only paths that
     * no route with one matches: when routes with a path condition match the path and headers but none
     * allows the method, the answer is null (a 405), not the path-less fallback (docs/configuration.md).
     */
    public static Route route(Site site, String path, HttpMethod method, HttpHeaders headers) {
        List<Route> routes = site.routes();
        boolean pathMatched = false;
        for (int i = 0, n = routes.size(); i < n; i++) {
            Route r = routes.get(i);
            if (r.path() == null && pathMatched) {
                return null; // routes are sorted: every route with a path condition came before
            }
            if (r.matchesPath(path) && r.matchesHeaders(headers)) {
                if (r.matchesMethod(method)) {
                    return r;
                }
                pathMatched |= r.path() != null;
            }
        }
        return null;
    }

    /**
     * Methods the routes that would serve this path and headers accept (for 405's Allow): those with a path
     * condition when any matches, else those without one. HEAD is allowed wherever GET is.
     */
    static Set<String> allowedMethods(Site site, String path, HttpHeaders headers) {
        Set<String> allowed = new TreeSet<>();
        boolean pathMatched = false;
        for (Route r : site.routes()) {
            if (r.path() == null && pathMatched) {
                break;
            }
            if (r.matchesPath(path) && r.matchesHeaders(headers)) {
                pathMatched |= r.path() != null;
                r.methods().forEach(m -> allowed.add(m.name()));
                if (r.methods().contains(HttpMethod.GET)) {
                    allowed.add("HEAD");
                }
            }
        }
        return allowed;
    }

    /**
     * What answers a request, for the admin API's {@code /routes/match}: the site ({@code null} when none answers the
     * host), the route ({@code null} for a 404 or 405) and, without a route, the methods that would be allowed.
     */
    public record Match(Site site, Route route, Set<String> allowed) {}

    /** As {@link #dispatch} would route {@code host} (normalised), {@code path} (normalised) and the rest. */
    public Match match(String host, String path, HttpMethod method, HttpHeaders headers) {
        Site s = site(host);
        if (s == null) {
            return new Match(null, null, Set.of());
        }
        Route r = route(s, path, method, headers);
        return new Match(s, r, r == null ? allowedMethods(s, path, headers) : Set.of());
    }

    @Override
    public void dispatch(Exchange exchange) {
        Site site = site(exchange.host());
        if (site == null) {
            exchange.sendError(HttpResponseStatus.NOT_FOUND, "No site is configured for this host.");
            return;
        }
        Route route = route(site, exchange.path(), exchange.method(), exchange.requestHeaders());
        if (route == null) {
            exchange.routed(site.name(), null, site.errorPages(), dev.turnpike.config.ErrorPages.NONE);
            Set<String> allowed = allowedMethods(site, exchange.path(), exchange.requestHeaders());
            if (allowed.isEmpty()) {
                exchange.sendError(HttpResponseStatus.NOT_FOUND, "Nothing is configured at this path.");
            } else {
                FullHttpResponse r = exchange.services().errors().build(exchange, HttpResponseStatus.METHOD_NOT_ALLOWED,
                        exchange.method().name() + " is not allowed here.");
                r.headers().set(HttpHeaderNames.ALLOW, String.join(", ", allowed));
                exchange.respond(r);
            }
            return;
        }
        exchange.routed(site.name(), route.name(), site.errorPages(), route.errorPages());
        exchange.meter(route.meter());
        route.handler().handle(exchange);
    }

    /** Every handler this router built, so a retired snapshot can release them. */
    public List<Handler> handlers() {
        return handlers;
    }
}
