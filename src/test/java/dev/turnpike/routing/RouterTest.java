package dev.turnpike.routing;

import dev.turnpike.config.ErrorPages;
import dev.turnpike.config.HandlerConfig;
import dev.turnpike.config.PathMatch;
import dev.turnpike.config.RouteConfig;
import dev.turnpike.config.SiteConfig;
import dev.turnpike.config.SourcePosition;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

class RouterTest {
    static final SourcePosition POS = new SourcePosition("test.yaml", 1, 1);
    static final HttpHeaders NO_HEADERS = new DefaultHttpHeaders();

    static RouteConfig route(String name, PathMatch path, List<String> methods, Map<String, String> headers) {
        return new RouteConfig(name, Optional.ofNullable(path), methods, headers,
                new HandlerConfig.Respond(200, name, Map.of()), ErrorPages.NONE, POS);
    }

    static RouteConfig route(String name, PathMatch path) {
        return route(name, path, List.of(), Map.of());
    }

    static PathMatch exact(String p) {
        return new PathMatch.Exact(p);
    }

    static PathMatch prefix(String p) {
        return new PathMatch.Prefix(p);
    }

    static PathMatch regex(String p) {
        return new PathMatch.Regex(Pattern.compile(p));
    }

    record Named(String name) implements Handler {
        @Override
        public void handle(Exchange exchange) {}
    }

    static Router router(SiteConfig... sites) {
        return Router.compile(List.of(sites), (rc, hc) -> new Named(rc.name()));
    }

    static SiteConfig site(String name, List<String> hosts, RouteConfig... routes) {
        return new SiteConfig(name, hosts, List.of(routes), ErrorPages.NONE, POS);
    }

    static String winner(Router router, String host, String path, HttpMethod method, HttpHeaders headers) {
        Site s = router.site(host);
        if (s == null) {
            return "no site";
        }
        Route r = Router.route(s, path, method, headers);
        return r == null ? "no route" : r.name();
    }

    static String winner(Router router, String path) {
        return winner(router, "any", path, HttpMethod.GET, NO_HEADERS);
    }

    static HttpHeaders headers(String... nameValues) {
        HttpHeaders h = new DefaultHttpHeaders();
        for (int i = 0; i < nameValues.length; i += 2) {
            h.add(nameValues[i], nameValues[i + 1]);
        }
        return h;
    }

    @Nested
    class PathPrecedence {
        @Test
        void exactBeatsPrefixWhateverTheOrder() {
            Router r = router(site("d", List.of(), route("prefix", prefix("/a/")), route("exact", exact("/a/b"))));
            assertThat(winner(r, "/a/b")).isEqualTo("exact");
            assertThat(winner(r, "/a/c")).isEqualTo("prefix");
            assertThat(winner(r, "/a/b/")).isEqualTo("prefix");
        }

        @Test
        void longestPrefixWins() {
            Router r = router(site("d", List.of(), route("short", prefix("/a/")), route("long", prefix("/a/b/")),
                    route("root", prefix("/"))));
            assertThat(winner(r, "/a/b/c")).isEqualTo("long");
            assertThat(winner(r, "/a/x")).isEqualTo("short");
            assertThat(winner(r, "/z")).isEqualTo("root");
        }

        @Test
        void regexBeatsPrefixAndPrefixBeatsNoPath() {
            Router r = router(site("d", List.of(), route("catch-all", null), route("regex", regex("\\.php$")),
                    route("prefix", prefix("/a/")), route("root", prefix("/"))));
            assertThat(winner(r, "/a/x.php")).isEqualTo("regex");
            assertThat(winner(r, "/x.php")).isEqualTo("regex");
            assertThat(winner(r, "/a/x")).isEqualTo("prefix");
            assertThat(winner(r, "/b")).isEqualTo("root");
            Router noRoot = router(site("d", List.of(), route("catch-all", null), route("prefix", prefix("/a/"))));
            assertThat(winner(noRoot, "/b")).isEqualTo("catch-all");
        }

        @Test
        void exactBeatsRegex() {
            Router r = router(site("d", List.of(), route("regex", regex("^/health")), route("exact", exact("/health"))));
            assertThat(winner(r, "/health")).isEqualTo("exact");
            assertThat(winner(r, "/healthz")).isEqualTo("regex");
        }

        @Test
        void aMethodsListCountsAsOneCondition() {
            Router r = router(site("d", List.of(),
                    route("many-methods", prefix("/a/"), List.of("GET", "POST", "PUT"), Map.of()),
                    route("method-and-header", prefix("/a/"), List.of("GET"), Map.of("X-A", "*"))));
            assertThat(winner(r, "any", "/a/x", HttpMethod.GET, headers("X-A", "1"))).isEqualTo("method-and-header");
        }

        @Test
        void regexIsFoundAnywhereUnlessAnchored() {
            Router r = router(site("d", List.of(), route("v", regex("^/v[0-9]+/")), route("png", regex("\\.png$"))));
            assertThat(winner(r, "/v2/x")).isEqualTo("v");
            assertThat(winner(r, "/x/v2/")).isEqualTo("no route");
            assertThat(winner(r, "/img/a.png")).isEqualTo("png");
        }

        @Test
        void moreConditionsWinTiesAndThenFileOrder() {
            Router r = router(site("d", List.of(),
                    route("first", prefix("/a/")),
                    route("second", prefix("/a/")),
                    route("get-only", prefix("/a/"), List.of("GET"), Map.of()),
                    route("get-canary", prefix("/a/"), List.of("GET"), Map.of("X-Canary", "1"))));
            assertThat(winner(r, "any", "/a/x", HttpMethod.GET, headers("X-Canary", "1"))).isEqualTo("get-canary");
            assertThat(winner(r, "any", "/a/x", HttpMethod.GET, NO_HEADERS)).isEqualTo("get-only");
            assertThat(winner(r, "any", "/a/x", HttpMethod.POST, headers("X-Canary", "1"))).isEqualTo("first");
        }

        @Test
        void pathConditionsBeatConditionCounts() {
            Router r = router(site("d", List.of(),
                    route("short-with-conditions", prefix("/a/"), List.of("GET"), Map.of("X-A", "*")),
                    route("long", prefix("/a/b/"))));
            assertThat(winner(r, "any", "/a/b/c", HttpMethod.GET, headers("X-A", "1"))).isEqualTo("long");
        }
    }

    @Nested
    class Conditions {
        @Test
        void methodsFilterAndHeadIsAllowedWhenGetIs() {
            Router r = router(site("d", List.of(), route("read", exact("/r"), List.of("GET"), Map.of()),
                    route("write", exact("/r"), List.of("POST", "PUT"), Map.of())));
            assertThat(winner(r, "any", "/r", HttpMethod.GET, NO_HEADERS)).isEqualTo("read");
            assertThat(winner(r, "any", "/r", HttpMethod.HEAD, NO_HEADERS)).isEqualTo("read");
            assertThat(winner(r, "any", "/r", HttpMethod.PUT, NO_HEADERS)).isEqualTo("write");
            assertThat(winner(r, "any", "/r", HttpMethod.DELETE, NO_HEADERS)).isEqualTo("no route");
            assertThat(Router.allowedMethods(r.site("any"), "/r", NO_HEADERS))
                    .containsExactly("GET", "HEAD", "POST", "PUT");
            assertThat(Router.allowedMethods(r.site("any"), "/elsewhere", NO_HEADERS)).isEmpty();
        }

        @Test
        void headerConditionsMatchAnExactValueOrPresence() {
            Map<String, String> canary = new LinkedHashMap<>();
            canary.put("X-Canary", "1");
            Router r = router(site("d", List.of(),
                    route("canary", prefix("/"), List.of(), canary),
                    route("tagged", prefix("/"), List.of(), Map.of("X-Tag", "*")),
                    route("plain", prefix("/"))));
            assertThat(winner(r, "any", "/", HttpMethod.GET, headers("x-canary", "1"))).isEqualTo("canary");
            assertThat(winner(r, "any", "/", HttpMethod.GET, headers("X-Canary", "2"))).isEqualTo("plain");
            assertThat(winner(r, "any", "/", HttpMethod.GET, headers("X-Canary", "0, 1"))).isEqualTo("plain");
            assertThat(winner(r, "any", "/", HttpMethod.GET, headers("X-Canary", "0", "X-Canary", "1"))).isEqualTo("canary");
            assertThat(winner(r, "any", "/", HttpMethod.GET, headers("X-Tag", ""))).isEqualTo("tagged");
            assertThat(winner(r, "any", "/", HttpMethod.GET, NO_HEADERS)).isEqualTo("plain");
        }
    }

    /** The worked example of docs/configuration.md, "How a request finds its route". */
    @Test
    void theDocumentedExample() {
        Router r = router(site("d", List.of(),
                route("A", prefix("/api/"), List.of("GET"), Map.of()),
                route("B", prefix("/api/"), List.of("GET"), Map.of("X-Canary", "1")),
                route("C", exact("/api/users")),
                route("D", regex("^/api/v[0-9]+/")),
                route("E", null)));
        assertThat(winner(r, "any", "/api/users", HttpMethod.GET, NO_HEADERS)).isEqualTo("C");
        assertThat(winner(r, "any", "/api/v2/x", HttpMethod.GET, headers("X-Canary", "1"))).isEqualTo("D");
        assertThat(winner(r, "any", "/api/x", HttpMethod.GET, headers("X-Canary", "1"))).isEqualTo("B");
        assertThat(winner(r, "any", "/api/x", HttpMethod.GET, NO_HEADERS)).isEqualTo("A");
        assertThat(winner(r, "any", "/api/x", HttpMethod.POST, NO_HEADERS)).isEqualTo("no route");
        assertThat(Router.allowedMethods(r.site("any"), "/api/x", NO_HEADERS)).containsExactly("GET", "HEAD");
        assertThat(winner(r, "any", "/about", HttpMethod.GET, NO_HEADERS)).isEqualTo("E");
        // D has no methods condition, so it answers any method.
        assertThat(winner(r, "any", "/api/v2/x", HttpMethod.POST, NO_HEADERS)).isEqualTo("D");
    }

    @Test
    void pathLessRoutesWithMethodsGive405WhenNothingElseMatches() {
        Router r = router(site("d", List.of(), route("get-only", null, List.of("GET"), Map.of())));
        assertThat(winner(r, "any", "/x", HttpMethod.POST, NO_HEADERS)).isEqualTo("no route");
        assertThat(Router.allowedMethods(r.site("any"), "/x", NO_HEADERS)).containsExactly("GET", "HEAD");
    }

    @Nested
    class Hosts {
        final Router r = router(
                site("exact", List.of("example.com", "a.example.com"), route("exact", null)),
                site("wild", List.of("*.example.com"), route("wild", null)),
                site("deeper", List.of("*.b.example.com"), route("deeper", null)),
                site("default", List.of(), route("default", null)));

        @Test
        void exactBeatsWildcardBeatsDefault() {
            assertThat(winner(r, "a.example.com", "/", HttpMethod.GET, NO_HEADERS)).isEqualTo("exact");
            assertThat(winner(r, "example.com", "/", HttpMethod.GET, NO_HEADERS)).isEqualTo("exact");
            assertThat(winner(r, "c.example.com", "/", HttpMethod.GET, NO_HEADERS)).isEqualTo("wild");
            assertThat(winner(r, "x.y.example.com", "/", HttpMethod.GET, NO_HEADERS)).isEqualTo("wild");
            assertThat(winner(r, "x.b.example.com", "/", HttpMethod.GET, NO_HEADERS)).isEqualTo("deeper");
            assertThat(winner(r, "other.org", "/", HttpMethod.GET, NO_HEADERS)).isEqualTo("default");
            assertThat(winner(r, "", "/", HttpMethod.GET, NO_HEADERS)).isEqualTo("default");
        }

        @Test
        void aWildcardDoesNotMatchItsBareSuffix() {
            Router noDefault = router(site("wild", List.of("*.example.com"), route("wild", null)));
            assertThat(noDefault.site("a.example.com")).isNotNull();
            assertThat(noDefault.site("a.b.example.com")).isNotNull();
            assertThat(noDefault.site("example.com")).isNull();
            assertThat(noDefault.site("badexample.com")).isNull();
            assertThat(noDefault.site("")).isNull();
        }
    }

    @Test
    void everyHandlerIsKept() {
        List<String> built = new ArrayList<>();
        Router r = Router.compile(List.of(site("d", List.of(), route("a", null), route("b", exact("/b")))),
                (rc, hc) -> {
                    built.add(rc.name());
                    return new Named(rc.name());
                });
        assertThat(built).containsExactly("a", "b");
        assertThat(r.handlers()).hasSize(2);
    }
}
