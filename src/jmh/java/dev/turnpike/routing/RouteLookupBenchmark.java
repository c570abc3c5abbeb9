package dev.turnpike.routing;

import dev.turnpike.config.ErrorPages;
import dev.turnpike.config.HandlerConfig;
import dev.turnpike.config.PathMatch;
import dev.turnpike.config.RouteConfig;
import dev.turnpike.config.SiteConfig;
import dev.turnpike.config.SourcePosition;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Route lookup with {@link Router}: the site for a Host, then the route for a path, in a configuration of
 * {@code sites} virtual hosts with {@code routes} prefix routes each plus a catch-all; the request matches the
 * last prefix route of a site in the middle (the worst case of the linear scan).
 */
@State(Scope.Thread)
public class RouteLookupBenchmark {
    private static final SourcePosition POS = new SourcePosition("bench.yaml", 1, 1);

    @Param({"1", "50"})
    public int sites;

    @Param({"2", "20"})
    public int routes;

    private Router router;
    private String host;
    private String path;
    private final HttpHeaders headers = new DefaultHttpHeaders();

    @Setup
    public void setUp() {
        List<SiteConfig> list = new ArrayList<>();
        for (int s = 0; s < sites; s++) {
            List<RouteConfig> rs = new ArrayList<>();
            for (int r = 0; r < routes; r++) {
                rs.add(route("r" + r, new PathMatch.Prefix("/svc" + r + "/")));
            }
            rs.add(route("fallback", null));
            list.add(new SiteConfig("site" + s, List.of("site" + s + ".example.com"), rs, ErrorPages.NONE, POS));
        }
        router = Router.compile(list, (rc, hc) -> exchange -> { });
        host = "site" + sites / 2 + ".example.com";
        path = "/svc" + (routes - 1) + "/users/42";
    }

    private static RouteConfig route(String name, PathMatch path) {
        return new RouteConfig(name, Optional.ofNullable(path), List.of(), Map.of(),
                new HandlerConfig.Respond(200, name, Map.of()), ErrorPages.NONE, POS);
    }

    @Benchmark
    public Route lookup() {
        return Router.route(router.site(host), path, HttpMethod.GET, headers);
    }
}
