package dev.turnpike.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.turnpike.server.Fixture;
import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.RawClient.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/** Built-in and custom error pages, redirects and responses with placeholders. */
class ErrorPagesIT {
    static final String BROWSER = "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    static final String API = "Accept: application/json";

    @TempDir
    static Path dir;
    static Fixture server;
    static RawClient client;

    @BeforeAll
    static void start() throws Exception {
        Files.writeString(dir.resolve("site404.html"), "<p>site 404</p>");
        Files.writeString(dir.resolve("site4xx.html"), "<p>site 4xx</p>");
        Files.writeString(dir.resolve("site5xx.html"), "<p>site 5xx</p>");
        Files.writeString(dir.resolve("site5xx.json"), "{\"site\":\"5xx\"}");
        Files.writeString(dir.resolve("route404.html"), "<p>route 404</p>");
        Files.writeString(dir.resolve("route4xx.html"), "<p>route 4xx</p>");
        server = Fixture.start("""
                listen: "127.0.0.1:0"
                access_log: off
                sites:
                  - hosts: [pages.example]
                    error_pages: {404: site404.html, 4xx: site4xx.html, 5xx: {html: site5xx.html, json: site5xx.json}}
                    routes:
                      - {name: route-404, path: /route404, error_pages: {404: route404.html}, respond: x}
                      - {name: route-4xx, path: /route4xx, error_pages: {4xx: route4xx.html}, respond: x}
                      - {name: fails-404, path: /fails404, respond: x}
                      - {name: fails-403, path: /fails403, respond: x}
                      - {name: fails-502, path: /fails502, respond: x}
                      - {name: only-get, path: /only-get, methods: [GET], respond: "g"}
                  - hosts: [plain.example]
                    routes:
                      - {name: redirect, path: /r/*, redirect: {to: "https://{host}{uri}", status: 301}}
                      - {name: parts, path: /parts, redirect: {to: "{scheme}://{host}/new{path}?{query}", status: 308}}
                      - {name: shorthand, path: /short, redirect: "/elsewhere"}
                      - name: placeholders
                        path: /ph/*
                        respond: {status: 201, body: "{method} {scheme} {host} {path} {query} {uri} {request_id}", headers: {X-Path: "{path}", Content-Type: text/x-test}}
                      - {name: plain-fails, path: /fails, respond: x}
                """, Map.<String, Supplier<Handler>>of(
                        "route-404", () -> new Fixture.Fails(404),
                        "route-4xx", () -> new Fixture.Fails(404),
                        "fails-404", () -> new Fixture.Fails(404),
                        "fails-403", () -> new Fixture.Fails(403),
                        "fails-502", () -> new Fixture.Fails(502),
                        "plain-fails", () -> new Fixture.Fails(404)), dir);
        client = server.connect();
    }

    @AfterAll
    static void stop() throws Exception {
        client.close();
        server.close();
    }

    static Response get(String target, String host, String... extraHeaders) throws Exception {
        StringBuilder sb = new StringBuilder("GET ").append(target).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
        for (String h : extraHeaders) {
            sb.append(h).append("\r\n");
        }
        return client.send(sb.append("\r\n").toString()).read();
    }

    static Map<String, String> json(String text) throws Exception {
        Map<String, String> out = new HashMap<>();
        try (JsonParser p = new JsonFactory().createParser(text)) {
            assertThat(p.nextToken()).isEqualTo(JsonToken.START_OBJECT);
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                out.put(name, p.getText());
            }
            assertThat(p.currentToken()).isEqualTo(JsonToken.END_OBJECT);
        }
        return out;
    }

    @Test
    void defaultNotFoundIsHtmlForBrowsers() throws Exception {
        for (Response r : new Response[] {get("/nothing", "plain.example", BROWSER), get("/nothing", "plain.example"),
                get("/", "no-site.example", BROWSER)}) {
            assertThat(r.status).isEqualTo(404);
            assertThat(r.header("Content-Type")).isEqualTo("text/html; charset=utf-8");
            assertThat(r.header("Cache-Control")).isEqualTo("no-store");
            assertThat(r.bodyText()).startsWith("<!DOCTYPE html>").contains("404 Not Found")
                    .contains(r.header("X-Request-ID"));
            assertThat(r.body).hasSize(Integer.parseInt(r.header("Content-Length")));
        }
    }

    @Test
    void defaultNotFoundIsJsonForApiClients() throws Exception {
        for (String accept : new String[] {API, "Accept: application/problem+json", "Accept: text/html;q=0.5, application/json"}) {
            Response r = get("/nothing", "plain.example", accept);
            assertThat(r.status).isEqualTo(404);
            assertThat(r.header("Content-Type")).isEqualTo("application/json");
            Map<String, String> body = json(r.bodyText());
            assertThat(body).containsEntry("status", "404").containsEntry("error", "Not Found")
                    .containsEntry("request_id", r.header("X-Request-ID"));
        }
    }

    @Test
    void customPagesRouteBeatsSiteAndStatusBeatsClass() throws Exception {
        assertThat(get("/route404", "pages.example", BROWSER).bodyText()).isEqualTo("<p>route 404</p>");
        assertThat(get("/route4xx", "pages.example", BROWSER).bodyText()).isEqualTo("<p>route 4xx</p>");
        assertThat(get("/fails404", "pages.example", BROWSER).bodyText()).isEqualTo("<p>site 404</p>");
        assertThat(get("/no-route-here", "pages.example", BROWSER).bodyText()).isEqualTo("<p>site 404</p>");
        Response forbidden = get("/fails403", "pages.example", BROWSER);
        assertThat(forbidden.status).isEqualTo(403);
        assertThat(forbidden.bodyText()).isEqualTo("<p>site 4xx</p>");
        assertThat(forbidden.header("Content-Type")).isEqualTo("text/html; charset=utf-8");
        assertThat(get("/fails404", "plain.example", BROWSER).bodyText()).contains("404 Not Found");
    }

    @Test
    void customPagesChooseHtmlOrJsonByAccept() throws Exception {
        Response html = get("/fails502", "pages.example", BROWSER);
        assertThat(html.status).isEqualTo(502);
        assertThat(html.bodyText()).isEqualTo("<p>site 5xx</p>");
        Response api = get("/fails502", "pages.example", API);
        assertThat(api.bodyText()).isEqualTo("{\"site\":\"5xx\"}");
        assertThat(api.header("Content-Type")).isEqualTo("application/json");
        // Only an HTML page: JSON clients get it rather than nothing.
        Response htmlOnly = get("/fails404", "pages.example", API);
        assertThat(htmlOnly.bodyText()).isEqualTo("<p>site 404</p>");
        assertThat(htmlOnly.header("Content-Type")).isEqualTo("text/html; charset=utf-8");
    }

    @Test
    void methodNotAllowedUsesTheSitePage() throws Exception {
        Response r = client.send("POST /only-get HTTP/1.1\r\nHost: pages.example\r\nContent-Length: 0\r\n\r\n").read();
        assertThat(r.status).isEqualTo(405);
        assertThat(r.header("Allow")).isEqualTo("GET, HEAD");
        assertThat(r.bodyText()).isEqualTo("<p>site 4xx</p>");
    }

    @Test
    void redirectsExpandPlaceholders() throws Exception {
        Response r = get("/r/a/b?x=1&y=2", "Plain.Example:8443");
        assertThat(r.status).isEqualTo(301);
        assertThat(r.header("Location")).isEqualTo("https://plain.example/r/a/b?x=1&y=2");
        assertThat(r.header("Content-Length")).isEqualTo("0");
        assertThat(get("/r/x", "plain.example").header("Location")).isEqualTo("https://plain.example/r/x");
        Response parts = get("/parts?q=%20z", "plain.example");
        assertThat(parts.status).isEqualTo(308);
        assertThat(parts.header("Location")).isEqualTo("http://plain.example/new/parts?q=%20z");
        Response shorthand = get("/short", "plain.example");
        assertThat(shorthand.status).isEqualTo(302);
        assertThat(shorthand.header("Location")).isEqualTo("/elsewhere");
    }

    @Test
    void respondExpandsPlaceholders() throws Exception {
        Response r = get("/ph/a/../b?k=v", "plain.example", "X-Request-ID: my-id");
        assertThat(r.status).isEqualTo(201);
        assertThat(r.bodyText()).isEqualTo("GET http plain.example /ph/b k=v /ph/b?k=v my-id");
        assertThat(r.header("X-Path")).isEqualTo("/ph/b");
        assertThat(r.header("Content-Type")).isEqualTo("text/x-test");
        Response noQuery = get("/ph/", "plain.example");
        assertThat(noQuery.bodyText()).startsWith("GET http plain.example /ph/  /ph/ ")
                .endsWith(noQuery.header("X-Request-ID"));
    }
}
