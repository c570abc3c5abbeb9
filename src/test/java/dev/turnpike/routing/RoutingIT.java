package dev.turnpike.routing;

import dev.turnpike.server.Fixture;
import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.RawClient.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Routing as a client sees it: no default site, so an unknown host is a 404. */
class RoutingIT {
    static Fixture server;
    static RawClient client;

    @BeforeAll
    static void start() throws Exception {
        server = Fixture.start("""
                listen: "127.0.0.1:0"
                access_log: off
                sites:
                  - hosts: [a.example.com]
                    routes:
                      - {name: a-any, respond: "a any {path}"}
                      - {name: a-regex2, regex: "^/v[0-9]+/", respond: "a versioned"}
                      - {name: a-regex, regex: "^/v[0-9]+/", methods: [GET], headers: {X-Canary: "1"}, respond: "a canary"}
                      - {name: a-prefix, path: /p/*, respond: "a prefix {path}"}
                      - {name: a-exact, path: /p, respond: "a exact"}
                      - {name: b, path: /b, respond: "a b {path}"}
                      - {name: a-tagged, path: /t, headers: {X-Tag: "*"}, respond: "a tagged"}
                  - hosts: [docs.example]
                    routes:
                      - {name: A, path: /api/*, methods: [GET], respond: A}
                      - {name: B, path: /api/*, headers: {X-Canary: "1"}, methods: [GET], respond: B}
                      - {name: C, path: /api/users, respond: C}
                      - {name: D, regex: "^/api/v[0-9]+/", respond: D}
                      - {name: E, respond: "fallback"}
                  - hosts: ["*.example.com"]
                    routes:
                      - {name: read, path: /r, methods: [GET], respond: "read"}
                      - {name: write, path: /r, methods: [POST, PUT], respond: "write"}
                      - {name: wild, path: /w/*, respond: "wild {host}"}
                """);
        client = server.connect();
    }

    @AfterAll
    static void stop() throws Exception {
        client.close();
        server.close();
    }

    static Response send(String method, String target, String host, String... extraHeaders) throws Exception {
        StringBuilder sb = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: ")
                .append(host).append("\r\n");
        for (String h : extraHeaders) {
            sb.append(h).append("\r\n");
        }
        sb.append("\r\n");
        client.send(sb.toString());
        return method.equals("HEAD") ? client.readHead() : client.read();
    }

    static String body(String target, String host, String... extraHeaders) throws Exception {
        Response r = send("GET", target, host, extraHeaders);
        return r.status + " " + r.bodyText();
    }

    @Test
    void pathPrecedence() throws Exception {
        assertThat(body("/p", "a.example.com")).isEqualTo("200 a exact");
        assertThat(body("/p/x", "a.example.com")).isEqualTo("200 a prefix /p/x");
        assertThat(body("/pq", "a.example.com")).isEqualTo("200 a any /pq");
        assertThat(body("/v2/x", "a.example.com")).isEqualTo("200 a versioned");
        assertThat(body("/", "a.example.com")).isEqualTo("200 a any /");
    }

    @Test
    void methodsAndHeaderConditions() throws Exception {
        assertThat(body("/v2/x", "a.example.com", "X-Canary: 1")).isEqualTo("200 a canary");
        assertThat(body("/v2/x", "a.example.com", "X-Canary: 2")).isEqualTo("200 a versioned");
        assertThat(send("POST", "/v2/x", "a.example.com", "X-Canary: 1", "Content-Length: 0").bodyText())
                .isEqualTo("a versioned");
        assertThat(body("/t", "a.example.com", "X-Tag: anything")).isEqualTo("200 a tagged");
        assertThat(body("/t", "a.example.com")).isEqualTo("200 a any /t");
    }

    @Test
    void methodNotAllowedListsWhatIs() throws Exception {
        Response r = send("DELETE", "/r", "x.example.com");
        assertThat(r.status).isEqualTo(405);
        assertThat(r.header("Allow")).isEqualTo("GET, HEAD, POST, PUT");
        Response head = send("HEAD", "/r", "x.example.com");
        assertThat(head.status).isEqualTo(200);
        assertThat(head.header("Content-Length")).isEqualTo("4");
        assertThat(send("PUT", "/r", "x.example.com", "Content-Length: 0").bodyText()).isEqualTo("write");
        assertThat(body("/nothing", "x.example.com")).startsWith("404 ");
    }

    @Test
    void theDocumentedExample() throws Exception {
        assertThat(body("/api/users", "docs.example")).isEqualTo("200 C");
        assertThat(body("/api/v2/x", "docs.example", "X-Canary: 1")).isEqualTo("200 D");
        assertThat(body("/api/x", "docs.example", "X-Canary: 1")).isEqualTo("200 B");
        assertThat(body("/api/x", "docs.example")).isEqualTo("200 A");
        Response post = send("POST", "/api/x", "docs.example", "Content-Length: 0");
        assertThat(post.status).isEqualTo(405);
        assertThat(post.header("Allow")).isEqualTo("GET, HEAD");
        assertThat(body("/about", "docs.example")).isEqualTo("200 fallback");
    }

    @Test
    void hostsExactWildcardAndNone() throws Exception {
        assertThat(body("/p", "A.EXAMPLE.COM:8080")).isEqualTo("200 a exact");
        assertThat(body("/p", "a.example.com.")).isEqualTo("200 a exact");
        assertThat(body("/p", "a.example.com.:80")).isEqualTo("200 a exact");
        assertThat(body("/w/", "x.example.com")).isEqualTo("200 wild x.example.com");
        assertThat(body("/w/", "X.Y.Example.Com")).isEqualTo("200 wild x.y.example.com");
        assertThat(body("/w/", "example.com")).startsWith("404 ");
        assertThat(body("/w/", "other.org")).startsWith("404 ");
        assertThat(body("/w/", "127.0.0.1")).startsWith("404 ");
    }

    @Test
    void http10WithoutHostGoesToTheDefaultSiteWhichHereIsNone() throws Exception {
        try (RawClient c = server.connect()) {
            assertThat(c.send("GET /p HTTP/1.0\r\n\r\n").read().status).isEqualTo(404);
        }
    }

    @Test
    void dotSegmentsAreRemovedBeforeRouting() throws Exception {
        assertThat(body("/a/../b", "a.example.com")).isEqualTo("200 a b /b");
        assertThat(body("/p/./x/../y", "a.example.com")).isEqualTo("200 a prefix /p/y");
        assertThat(body("/%70/x", "a.example.com")).isEqualTo("200 a prefix /p/x");
        assertThat(body("/q/%2e%2e/p", "a.example.com")).isEqualTo("200 a exact");
        assertThat(body("/p%2Fx", "a.example.com")).isEqualTo("200 a any /p%2Fx");
        assertThat(body("/b?x=/../y", "a.example.com")).isEqualTo("200 a b /b");
    }

    @Test
    void dotSegmentsAboveTheRootAre400AndClose() throws Exception {
        for (String target : new String[] {"/../x", "/a/../../x", "/%2e%2e/x", "/.%2E/x"}) {
            try (RawClient c = server.connect()) {
                Response r = c.send("GET " + target + " HTTP/1.1\r\nHost: a.example.com\r\n\r\n").read();
                assertThat(r.status).as(target).isEqualTo(400);
                assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
                assertThat(c.isClosedByPeer(2000)).isTrue();
            }
        }
    }
}
