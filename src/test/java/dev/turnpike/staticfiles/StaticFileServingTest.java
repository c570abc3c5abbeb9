package dev.turnpike.staticfiles;

import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.TestServer;
import io.netty.handler.codec.DateFormatter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The static handler end to end: a real server on loopback, raw requests and the JDK client. */
class StaticFileServingTest {
    @TempDir
    static Path tmp;

    static StaticFixture fx;
    static TestServer server;
    static HttpClient client;
    static String bigDigest;
    static final long BIG = 64L * 1024 * 1024;

    @BeforeAll
    static void start() throws Exception {
        fx = new StaticFixture(tmp);
        bigDigest = StaticFixture.writeRandom(fx.publicDir.resolve("big.bin"), BIG);
        String yaml = """
                listen: "127.0.0.1:0"
                sites:
                  - routes:
                      - path: /spa/*
                        static: {root: "%2$s", spa_fallback: index.html, strip_prefix: /spa}
                      - path: /list/*
                        static: {root: "%3$s", listing: true, strip_prefix: /list}
                      - path: /listhidden/*
                        static: {root: "%3$s", listing: true, show_hidden: true, strip_prefix: /listhidden}
                      - path: /cc/*
                        static: {root: "%1$s", cache_control: "public, max-age=60", strip_prefix: /cc}
                      - path: /plain/*
                        static: {root: "%1$s", precompressed: false, strip_prefix: /plain/}
                      - path: /*
                        static: "%1$s"
                """.formatted(fx.publicDir, fx.spaDir, fx.listDir);
        server = TestServer.start(yaml, tmp);
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    static RawClient.Response raw(String method, String target, String... headers) throws Exception {
        try (RawClient c = server.connect()) {
            StringBuilder sb = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: test\r\n");
            for (String h : headers) {
                sb.append(h).append("\r\n");
            }
            sb.append("Connection: close\r\n\r\n");
            c.send(sb.toString());
            return method.equals("HEAD") ? c.readHead() : c.read();
        }
    }

    static RawClient.Response get(String target, String... headers) throws Exception {
        return raw("GET", target, headers);
    }

    static String etag(String file) throws Exception {
        return StaticFixture.etagOf(fx.publicDir.resolve(file));
    }

    static String lastModified(String file) throws Exception {
        return DateFormatter.format(new Date(Files.getLastModifiedTime(fx.publicDir.resolve(file)).toMillis() / 1000 * 1000));
    }

    static void assertNoSecret(RawClient.Response r) {
        assertThat(r.bodyText()).doesNotContain(StaticFixture.SECRET).doesNotContain(StaticFixture.DOTFILE_SECRET);
    }

    // ---- plain files -------------------------------------------------------------------------------------------

    @Test
    void servesFileWithTypeLengthAndValidators() throws Exception {
        RawClient.Response r = get("/hello.txt");
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo(StaticFixture.HELLO);
        assertThat(r.header("content-type")).isEqualTo("text/plain; charset=utf-8");
        assertThat(r.header("content-length")).isEqualTo(String.valueOf(StaticFixture.HELLO.length()));
        assertThat(r.header("etag")).isEqualTo(etag("hello.txt")).matches("\"[0-9a-f]+-e\"");
        assertThat(r.header("last-modified")).isEqualTo(lastModified("hello.txt"))
                .matches("[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT");
        assertThat(r.header("accept-ranges")).isEqualTo("bytes");
        assertThat(r.header("x-content-type-options")).isEqualTo("nosniff");
        assertThat(r.header("vary")).isNull();
        assertThat(r.header("cache-control")).isNull();
        assertThat(r.header("transfer-encoding")).isNull();
    }

    @Test
    void lastModifiedIsAnImfFixdate() throws Exception {
        Path f = fx.publicDir.resolve("dated.txt");
        StaticFixture.write(f, "d");
        Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.fromMillis(1_699_012_345_678L));
        RawClient.Response r = get("/dated.txt");
        assertThat(r.header("last-modified")).isEqualTo("Fri, 03 Nov 2023 11:52:25 GMT");
        assertThat(r.header("etag")).isEqualTo("\"" + Long.toHexString(1_699_012_345L) + "-1\"");
        assertThat(get("/dated.txt", "If-Modified-Since: Fri, 03 Nov 2023 11:52:25 GMT").status).isEqualTo(304);
        assertThat(get("/dated.txt", "If-Modified-Since: Fri, 03 Nov 2023 11:52:24 GMT").status).isEqualTo(200);
    }

    @Test
    void headHasTheHeadersButNoBody() throws Exception {
        try (RawClient c = server.connect()) {
            c.send("HEAD /hello.txt HTTP/1.1\r\nHost: test\r\n\r\n");
            RawClient.Response head = c.readHead();
            assertThat(head.status).isEqualTo(200);
            assertThat(head.header("content-length")).isEqualTo("14");
            assertThat(head.header("content-type")).isEqualTo("text/plain; charset=utf-8");
            assertThat(head.header("etag")).isEqualTo(etag("hello.txt"));
            // The next response on the connection starts right away: no body bytes were sent.
            c.send("GET /digits.txt HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
            RawClient.Response next = c.read();
            assertThat(next.status).isEqualTo(200);
            assertThat(next.bodyText()).isEqualTo(StaticFixture.DIGITS);
        }
        RawClient.Response bigHead = raw("HEAD", "/big.bin");
        assertThat(bigHead.header("content-length")).isEqualTo(String.valueOf(BIG));
    }

    @ParameterizedTest
    @CsvSource({
            "/style.css, text/css; charset=utf-8",
            "/app.js, text/javascript; charset=utf-8",
            "/data.json, application/json; charset=utf-8",
            "/image.png, image/png",
            "/thing.xyz, application/octet-stream",
            "/noext, application/octet-stream",
            "/index.html, text/html; charset=utf-8",
    })
    void contentTypes(String path, String type) throws Exception {
        RawClient.Response r = get(path);
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("content-type")).isEqualTo(type);
    }

    @Test
    void emptyFile() throws Exception {
        RawClient.Response r = get("/empty.txt");
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("content-length")).isEqualTo("0");
        RawClient.Response ranged = get("/empty.txt", "Range: bytes=0-");
        assertThat(ranged.status).isEqualTo(200);
    }

    @Test
    void nonAsciiAndSpacesInNames() throws Exception {
        RawClient.Response r = get("/with%20space/%C3%BC.txt");
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("umlaut\n");
        assertThat(get("/with%20space/%FC.txt").status).isEqualTo(400); // Latin-1, not UTF-8
    }

    // ---- methods ---------------------------------------------------------------------------------------------

    @Test
    void optionsAndOtherMethods() throws Exception {
        RawClient.Response options = raw("OPTIONS", "/hello.txt");
        assertThat(options.status).isEqualTo(204);
        assertThat(options.header("allow")).isEqualTo("GET, HEAD, OPTIONS");
        assertThat(options.header("content-length")).isNull();
        for (String m : List.of("POST", "PUT", "DELETE", "PATCH")) {
            RawClient.Response r = raw(m, "/hello.txt", "Content-Length: 0");
            assertThat(r.status).as(m).isEqualTo(405);
            assertThat(r.header("allow")).isEqualTo("GET, HEAD, OPTIONS");
            assertThat(r.bodyText()).doesNotContain(StaticFixture.HELLO);
        }
    }

    // ---- conditional requests ------------------------------------------------------------------------------

    @Test
    void ifNoneMatchGives304() throws Exception {
        String tag = etag("hello.txt");
        RawClient.Response r = get("/hello.txt", "If-None-Match: " + tag);
        assertThat(r.status).isEqualTo(304);
        assertThat(r.header("etag")).isEqualTo(tag);
        assertThat(r.header("last-modified")).isEqualTo(lastModified("hello.txt"));
        assertThat(r.header("content-length")).isNull();
        assertThat(get("/hello.txt", "If-None-Match: W/" + tag).status).as("weak comparison").isEqualTo(304);
        assertThat(get("/hello.txt", "If-None-Match: \"x\", " + tag).status).isEqualTo(304);
        assertThat(get("/hello.txt", "If-None-Match: *").status).isEqualTo(304);
        assertThat(get("/hello.txt", "If-None-Match: \"other\"").status).isEqualTo(200);
        assertThat(raw("HEAD", "/hello.txt", "If-None-Match: " + tag).status).isEqualTo(304);
    }

    @Test
    void ifModifiedSince() throws Exception {
        String lm = lastModified("hello.txt");
        assertThat(get("/hello.txt", "If-Modified-Since: " + lm).status).isEqualTo(304);
        assertThat(get("/hello.txt", "If-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT").status).isEqualTo(304);
        assertThat(get("/hello.txt", "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT").status).isEqualTo(200);
        assertThat(get("/hello.txt", "If-Modified-Since: yesterday").status).isEqualTo(200);
        // If-None-Match present: If-Modified-Since is ignored.
        assertThat(get("/hello.txt", "If-None-Match: \"other\"", "If-Modified-Since: " + lm).status).isEqualTo(200);
    }

    @Test
    void ifMatchAndIfUnmodifiedSinceGive412() throws Exception {
        String tag = etag("hello.txt");
        assertThat(get("/hello.txt", "If-Match: \"other\"").status).isEqualTo(412);
        assertThat(get("/hello.txt", "If-Match: W/" + tag).status).as("strong comparison").isEqualTo(412);
        assertThat(get("/hello.txt", "If-Match: " + tag).status).isEqualTo(200);
        assertThat(get("/hello.txt", "If-Match: *").status).isEqualTo(200);
        assertThat(get("/hello.txt", "If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT").status).isEqualTo(412);
        assertThat(get("/hello.txt", "If-Unmodified-Since: Thu, 01 Jan 2099 00:00:00 GMT").status).isEqualTo(200);
        // If-Match wins over If-Unmodified-Since, both ways.
        assertThat(get("/hello.txt", "If-Match: \"other\"",
                "If-Unmodified-Since: Thu, 01 Jan 2099 00:00:00 GMT").status).isEqualTo(412);
        assertThat(get("/hello.txt", "If-Match: " + tag,
                "If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT").status).isEqualTo(200);
        // 412 comes before 304.
        assertThat(get("/hello.txt", "If-Match: \"other\"", "If-None-Match: " + tag).status).isEqualTo(412);
        RawClient.Response r = get("/hello.txt", "If-Match: \"other\"");
        assertThat(r.bodyText()).doesNotContain(StaticFixture.HELLO);
    }

    // ---- ranges --------------------------------------------------------------------------------------------

    @ParameterizedTest
    @CsvSource({
            "bytes=0-4, 0-4, 01234",
            "bytes=-5, 15-19, fghij",
            "bytes=15-, 15-19, fghij",
            "bytes=10-100, 10-19, abcdefghij",
            "bytes=0-3;2-5, 0-5, 012345",
            "bytes=0-1;2-3, 0-3, 0123",
            "BYTES=5-5, 5-5, 5",
            "bytes=-100, 0-19, 0123456789abcdefghij",
    })
    void singleRange(String range, String expectedRange, String body) throws Exception {
        RawClient.Response r = get("/digits.txt", "Range: " + range.replace(';', ','));
        assertThat(r.status).isEqualTo(206);
        assertThat(r.header("content-range")).isEqualTo("bytes " + expectedRange + "/20");
        assertThat(r.header("content-length")).isEqualTo(String.valueOf(body.length()));
        assertThat(r.header("content-type")).isEqualTo("text/plain; charset=utf-8");
        assertThat(r.header("etag")).isEqualTo(etag("digits.txt"));
        assertThat(r.bodyText()).isEqualTo(body);
    }

    @Test
    void multipleRangesAreMultipart() throws Exception {
        RawClient.Response r = get("/digits.txt", "Range: bytes=10-11, 0-1, 1-2, 18-");
        assertThat(r.status).isEqualTo(206);
        String ct = r.header("content-type");
        assertThat(ct).startsWith("multipart/byteranges; boundary=");
        String boundary = ct.substring(ct.indexOf('=') + 1);
        assertThat(boundary).hasSizeGreaterThanOrEqualTo(16);
        assertThat(r.header("content-length")).isEqualTo(String.valueOf(r.body.length));
        List<String[]> parts = parseMultipart(r.bodyText(), boundary);
        // 0-1 and 1-2 coalesce; order of first appearance is kept.
        assertThat(parts).hasSize(3);
        assertThat(parts.get(0)).containsExactly("bytes 10-11/20", "ab");
        assertThat(parts.get(1)).containsExactly("bytes 0-2/20", "012");
        assertThat(parts.get(2)).containsExactly("bytes 18-19/20", "ij");
        assertThat(r.bodyText()).contains("Content-Type: text/plain; charset=utf-8");
        // Another request gets another boundary.
        assertThat(get("/digits.txt", "Range: bytes=0-0,2-2").header("content-type")).isNotEqualTo(ct);
    }

    @Test
    void tooManyRangesServeTheWholeFile() throws Exception {
        StringBuilder sixteen = new StringBuilder("bytes=0-0");
        for (int i = 1; i < 16; i++) {
            sixteen.append(',').append(i).append('-').append(i);
        }
        assertThat(get("/digits.txt", "Range: " + sixteen).status).isEqualTo(206);
        RawClient.Response r = get("/digits.txt", "Range: " + sixteen + ",17-17");
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo(StaticFixture.DIGITS);
    }

    @ParameterizedTest
    @CsvSource({"bytes=20-30", "bytes=-0", "bytes=100-", "bytes=20-20, 30-"})
    void unsatisfiableIs416(String range) throws Exception {
        RawClient.Response r = get("/digits.txt", "Range: " + range);
        assertThat(r.status).isEqualTo(416);
        assertThat(r.header("content-range")).isEqualTo("bytes */20");
        assertThat(r.bodyText()).doesNotContain(StaticFixture.DIGITS);
    }

    @ParameterizedTest
    @CsvSource({"bytes=abc", "items=0-1", "bytes=5-1", "bytes=1-2-3", "bytes=--1", "bytes=", "bytes 0-1", "bytes=0x1-2"})
    void malformedRangeIsIgnored(String range) throws Exception {
        RawClient.Response r = get("/digits.txt", "Range: " + range);
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo(StaticFixture.DIGITS);
    }

    @Test
    void ifRange() throws Exception {
        String tag = etag("digits.txt");
        String lm = lastModified("digits.txt");
        assertThat(get("/digits.txt", "Range: bytes=0-1", "If-Range: " + tag).status).isEqualTo(206);
        assertThat(get("/digits.txt", "Range: bytes=0-1", "If-Range: \"stale\"").status).isEqualTo(200);
        assertThat(get("/digits.txt", "Range: bytes=0-1", "If-Range: W/" + tag).status).isEqualTo(200);
        assertThat(get("/digits.txt", "Range: bytes=0-1", "If-Range: " + lm).status).isEqualTo(206);
        RawClient.Response old = get("/digits.txt", "Range: bytes=0-1", "If-Range: Sat, 01 Jan 2000 00:00:00 GMT");
        assertThat(old.status).isEqualTo(200);
        assertThat(old.bodyText()).isEqualTo(StaticFixture.DIGITS);
        // An unsatisfiable range whose If-Range fails is not a 416 either.
        assertThat(get("/digits.txt", "Range: bytes=50-", "If-Range: \"stale\"").status).isEqualTo(200);
    }

    @Test
    void headIgnoresRange() throws Exception {
        RawClient.Response r = raw("HEAD", "/digits.txt", "Range: bytes=0-1");
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("content-length")).isEqualTo("20");
    }

    static List<String[]> parseMultipart(String body, String boundary) {
        List<String[]> parts = new ArrayList<>();
        String delimiter = "\r\n--" + boundary;
        assertThat(body).startsWith(delimiter + "\r\n").endsWith(delimiter + "--\r\n");
        String[] chunks = body.substring(0, body.length() - (delimiter + "--\r\n").length()).split(Pattern.quote(delimiter));
        for (String chunk : chunks) {
            if (chunk.isEmpty()) {
                continue;
            }
            int sep = chunk.indexOf("\r\n\r\n");
            String headers = chunk.substring(0, sep);
            Matcher m = Pattern.compile("Content-Range: (.*)").matcher(headers);
            assertThat(m.find()).isTrue();
            parts.add(new String[] {m.group(1).trim(), chunk.substring(sep + 4)});
        }
        return parts;
    }

    // ---- directories, index, SPA, listing --------------------------------------------------------------------

    @Test
    void indexFilesAndTrailingSlashRedirect() throws Exception {
        RawClient.Response rootIndex = get("/");
        assertThat(rootIndex.status).isEqualTo(200);
        assertThat(rootIndex.bodyText()).isEqualTo("<h1>home</h1>\n");
        assertThat(rootIndex.header("content-type")).isEqualTo("text/html; charset=utf-8");
        assertThat(get("/docs/").bodyText()).isEqualTo("<h1>docs</h1>\n");

        RawClient.Response redirect = get("/docs");
        assertThat(redirect.status).isEqualTo(301);
        assertThat(redirect.header("location")).isEqualTo("/docs/");
        assertThat(get("/docs?x=1&y=%20").header("location")).isEqualTo("/docs/?x=1&y=%20");
        assertThat(get("/cc/docs").header("location")).as("keeps the stripped prefix").isEqualTo("/cc/docs/");
        assertThat(get("/cc").status).isEqualTo(404); // /cc/* does not match /cc; nothing at public/cc

        assertThat(get("/nodir/").status).as("no index, listing off").isEqualTo(404);
        assertThat(get("/hello.txt/").status).isEqualTo(404);
        assertThat(get("/missing.txt").status).isEqualTo(404);
    }

    @Test
    void spaFallback() throws Exception {
        RawClient.Response route = get("/spa/users/42/settings");
        assertThat(route.status).isEqualTo(200);
        assertThat(route.bodyText()).isEqualTo("<app>shell</app>\n");
        assertThat(route.header("content-type")).isEqualTo("text/html; charset=utf-8");
        assertThat(route.header("etag")).isEqualTo(StaticFixture.etagOf(fx.spaDir.resolve("index.html")));
        assertThat(get("/spa/assets/app.js").bodyText()).isEqualTo("spa();\n");
        assertThat(get("/spa/").bodyText()).isEqualTo("<app>shell</app>\n");
        assertThat(get("/spa/assets/missing.js").bodyText()).as("documented: every miss").isEqualTo("<app>shell</app>\n");
        assertThat(raw("HEAD", "/spa/x").status).isEqualTo(200);
        assertThat(get("/spa/x", "If-None-Match: " + StaticFixture.etagOf(fx.spaDir.resolve("index.html"))).status)
                .isEqualTo(304);
        // Not for malformed paths.
        assertThat(get("/spa/a%2fb").status).isEqualTo(400);
    }

    @Test
    void listingHtml() throws Exception {
        RawClient.Response r = get("/list/");
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("content-type")).isEqualTo("text/html; charset=utf-8");
        String html = r.bodyText();
        assertThat(html).contains("Index of /list/")
                .contains("href=\"./a.txt\"")
                .contains("href=\"./b%20dir/\">b dir/</a>")
                .contains("&lt;script&gt;.txt").doesNotContain("<script>")
                .contains("3 B")
                .contains("2023-11-14 22:13:20")
                .doesNotContain(".hidden")
                .doesNotContain("href=\"../\"");
        // directories first, then case-insensitive names
        assertThat(html.indexOf("b dir/")).isLessThan(html.indexOf("&lt;script&gt;"));
        assertThat(html.indexOf("&lt;script&gt;")).isLessThan(html.indexOf("a.txt"));
        assertThat(html.indexOf("a.txt")).isLessThan(html.indexOf("Zeta.txt"));

        RawClient.Response sub = get("/list/b%20dir/");
        assertThat(sub.bodyText()).contains("Index of /list/b dir/").contains("href=\"../\"").contains("inner.txt");
        assertThat(get("/list/b%20dir").header("location")).isEqualTo("/list/b%20dir/");
        assertThat(get("/listhidden/").bodyText()).contains(".hidden");
    }

    @Test
    void listingJson() throws Exception {
        for (RawClient.Response r : List.of(get("/list/?format=json"), get("/list/", "Accept: application/json"))) {
            assertThat(r.status).isEqualTo(200);
            assertThat(r.header("content-type")).isEqualTo("application/json");
            String json = r.bodyText();
            assertThat(json).startsWith("{\"path\":\"/list/\"")
                    .contains("{\"name\":\"a.txt\",\"type\":\"file\",\"size\":3,\"modified\":\"2023-11-14T22:13:20Z\"}")
                    .contains("{\"name\":\"b dir\",\"type\":\"directory\"")
                    .contains("\"name\":\"<script>.txt\"")
                    .doesNotContain(".hidden");
        }
        assertThat(get("/list/", "Accept: text/html,application/json;q=0.9").header("content-type"))
                .startsWith("text/html");
    }

    // ---- precompressed ---------------------------------------------------------------------------------------

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "br, gzip | br",
            "gzip, deflate, br | br",
            "gzip | gzip",
            "br;q=0, gzip | gzip",
            "gzip;q=0.5, br;q=0.4 | gzip",
            "* | br",
            "*;q=0.1, br;q=0 | gzip",
            "br;q=0, gzip;q=0 | identity",
            "*;q=0 | identity",
            "identity | identity",
            "x-gzip | gzip",
    })
    void precompressedSelection(String acceptEncoding, String expected) throws Exception {
        RawClient.Response r = get("/app.js", "Accept-Encoding: " + acceptEncoding);
        assertThat(r.status).isEqualTo(200);
        assertThat(r.header("vary")).isEqualTo("Accept-Encoding");
        assertThat(r.header("content-type")).isEqualTo("text/javascript; charset=utf-8");
        switch (expected) {
            case "br" -> {
                assertThat(r.header("content-encoding")).isEqualTo("br");
                assertThat(r.bodyText()).isEqualTo(StaticFixture.JS_BR);
                assertThat(r.header("etag")).endsWith("-br\"").isNotEqualTo(etag("app.js"));
            }
            case "gzip" -> {
                assertThat(r.header("content-encoding")).isEqualTo("gzip");
                assertThat(r.bodyText()).isEqualTo(StaticFixture.JS_GZ);
                assertThat(r.header("etag")).endsWith("-gzip\"");
            }
            default -> {
                assertThat(r.header("content-encoding")).isNull();
                assertThat(r.bodyText()).isEqualTo(StaticFixture.JS);
                assertThat(r.header("etag")).isEqualTo(etag("app.js"));
            }
        }
    }

    @Test
    void precompressedDetails() throws Exception {
        RawClient.Response none = get("/app.js");
        assertThat(none.bodyText()).isEqualTo(StaticFixture.JS);
        assertThat(none.header("vary")).as("a sibling exists").isEqualTo("Accept-Encoding");
        assertThat(get("/hello.txt", "Accept-Encoding: br, gzip").header("vary")).isNull();

        RawClient.Response css = get("/only-gz.css", "Accept-Encoding: br");
        assertThat(css.bodyText()).isEqualTo("a{}\n");
        assertThat(css.header("vary")).isEqualTo("Accept-Encoding");
        assertThat(get("/only-gz.css", "Accept-Encoding: br, gzip").bodyText()).isEqualTo("GZ-CSS");

        RawClient.Response plain = get("/plain/app.js", "Accept-Encoding: br");
        assertThat(plain.bodyText()).isEqualTo(StaticFixture.JS);
        assertThat(plain.header("vary")).isNull();
        assertThat(plain.header("content-encoding")).isNull();

        // Ranges apply to the variant actually sent.
        RawClient.Response range = get("/app.js", "Accept-Encoding: br", "Range: bytes=0-6");
        assertThat(range.status).isEqualTo(206);
        assertThat(range.bodyText()).isEqualTo("BROTLI-");
        assertThat(range.header("content-range")).isEqualTo("bytes 0-6/" + StaticFixture.JS_BR.length());
        assertThat(range.header("content-encoding")).isEqualTo("br");

        // Validators are per variant.
        String brTag = get("/app.js", "Accept-Encoding: br").header("etag");
        RawClient.Response notModified = get("/app.js", "Accept-Encoding: br", "If-None-Match: " + brTag);
        assertThat(notModified.status).isEqualTo(304);
        assertThat(notModified.header("vary")).isEqualTo("Accept-Encoding");
        assertThat(get("/app.js", "Accept-Encoding: gzip", "If-None-Match: " + brTag).status).isEqualTo(200);

        RawClient.Response head = raw("HEAD", "/app.js", "Accept-Encoding: gzip");
        assertThat(head.header("content-length")).isEqualTo(String.valueOf(StaticFixture.JS_GZ.length()));
        assertThat(head.header("content-encoding")).isEqualTo("gzip");
    }

    // ---- configuration ---------------------------------------------------------------------------------------

    @Test
    void cacheControlAndStripPrefix() throws Exception {
        RawClient.Response r = get("/cc/hello.txt");
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo(StaticFixture.HELLO);
        assertThat(r.header("cache-control")).isEqualTo("public, max-age=60");
        assertThat(get("/cc/hello.txt", "If-None-Match: " + etag("hello.txt")).header("cache-control"))
                .isEqualTo("public, max-age=60");
        assertThat(get("/plain/hello.txt").bodyText()).as("prefix with trailing slash").isEqualTo(StaticFixture.HELLO);
        assertThat(get("/cc/cc/hello.txt").status).as("stripped once").isEqualTo(404);
    }

    // ---- never outside root ----------------------------------------------------------------------------------

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "/../etc/passwd | 400",
            "/../secret.txt | 400",
            "/%2e%2e/secret.txt | 400",
            "/%2E%2E%2Fsecret.txt | 400",
            "/..%2fsecret.txt | 400",
            "/..%2Fsecret.txt | 400",
            "/a/..%5c..%5csecret.txt | 400",
            "/%5c..%5csecret.txt | 400",
            "/a\\..\\b | 400",
            "/..\\secret.txt | 400",
            "/%00 | 400",
            "/hello.txt%00.png | 400",
            "/a%0d%0aX-Injected:%20yes | 400",
            "/%7f | 400",
            "/%c0%ae%c0%ae/secret.txt | 400",
            "/a/%2e%2e/%2e%2e/secret.txt | 400",
            "/docs/%2e%2e/%2e%2e/secret.txt | 400",
            "/%2e%2e%5csecret.txt | 400",
            "/escape.txt | 404",
            "/escape-abs.txt | 404",
            "/escape-dir/secret2.txt | 404",
            "/escape-dir/ | 404",
            "/escape-dir | 404",
            "/to-dotfile.txt | 404",
            "/dangling.txt | 404",
            "/.env | 404",
            "/%2eenv | 404",
            "/%2Eenv | 404",
            "/.git/config | 404",
            "/sub/.hidden.txt | 404",
            "/.well-known/../.env | 404",
            "/.well-known/%2e%2e/.env | 404",
            "/spa/../secret.txt | 404",
            "/cc/%2e%2e/secret.txt | 404",
            "/cc/..%2fsecret.txt | 400",
    })
    void traversalAndHiddenFilesAreRefused(String target, int status) throws Exception {
        RawClient.Response r = get(target);
        assertThat(r.status).as(target).isEqualTo(status);
        assertThat(r.header("x-injected")).isNull();
        assertNoSecret(r);
    }

    @Test
    void spaDoesNotLeakEither() throws Exception {
        for (String t : List.of("/spa/.env", "/spa/%2e%2e/secret.txt", "/spa/..%2fsecret.txt")) {
            RawClient.Response r = get(t);
            assertThat(r.status).as(t).isIn(200, 400, 404);
            assertNoSecret(r);
        }
    }

    @Test
    void absoluteFormTargetsAreMappedTheSameWay() throws Exception {
        RawClient.Response r = get("http://test/..%2fsecret.txt");
        assertThat(r.status).isEqualTo(400);
        assertNoSecret(r);
    }

    @Test
    void wellKnownIsAlwaysServedAndInsideSymlinksWork() throws Exception {
        RawClient.Response r = get("/.well-known/acme-challenge/token1");
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("acme-token\n");
        assertThat(get("/inside-link.txt").bodyText()).isEqualTo(StaticFixture.HELLO);
    }

    @Test
    void nonRegularFilesAre404() throws Exception {
        assumeTrue(fx.fifo, "mkfifo not available");
        RawClient.Response r = get("/fifo");
        assertThat(r.status).isEqualTo(404);
        assertThat(raw("HEAD", "/fifo").status).isEqualTo(404);
    }

    @Test
    void unreadableIs403() throws Exception {
        Path f = fx.publicDir.resolve("locked.txt");
        StaticFixture.write(f, "locked");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("---------"));
        try {
            assumeTrue(!Files.isReadable(f), "running as a user that reads everything (root)");
            assertThat(get("/locked.txt").status).isEqualTo(403);
            assertThat(raw("HEAD", "/locked.txt").status).isEqualTo(403);
        } finally {
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    // ---- big files, freshness, aborted clients ----------------------------------------------------------------

    @Test
    void largeFileDownloadsIntact() throws Exception {
        HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(server.uri("/big.bin")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValueAsLong("content-length")).hasValue(BIG);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/octet-stream");
        MessageDigest md = StaticFixture.sha256();
        long n = 0;
        try (InputStream in = r.body()) {
            byte[] buf = new byte[1 << 16];
            int k;
            while ((k = in.read(buf)) > 0) {
                md.update(buf, 0, k);
                n += k;
            }
        }
        assertThat(n).isEqualTo(BIG);
        assertThat(HexFormat.of().formatHex(md.digest())).isEqualTo(bigDigest);

        HttpResponse<byte[]> part = client.send(HttpRequest.newBuilder(server.uri("/big.bin"))
                .header("Range", "bytes=33554432-33554441").build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(part.statusCode()).isEqualTo(206);
        byte[] expected = new byte[10];
        try (var ch = java.nio.channels.FileChannel.open(fx.publicDir.resolve("big.bin"))) {
            ch.read(java.nio.ByteBuffer.wrap(expected), 33554432L);
        }
        assertThat(part.body()).isEqualTo(expected);
    }

    @Test
    void changesAreSeenAtOnceWhenTheSizeChangesAndWithinASecondOtherwise() throws Exception {
        Path f = fx.publicDir.resolve("changing.txt");
        StaticFixture.write(f, "v1");
        assertThat(get("/changing.txt").bodyText()).isEqualTo("v1");
        StaticFixture.write(f, "version two");
        RawClient.Response r = get("/changing.txt");
        assertThat(r.bodyText()).isEqualTo("version two");
        assertThat(r.header("etag")).isEqualTo(StaticFixture.etagOf(f));

        StaticFixture.write(f, "version 3!!");
        Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.fromMillis(1_600_000_000_000L));
        Thread.sleep(FileLookup.VALIDITY.toMillis() + 100);
        RawClient.Response later = get("/changing.txt");
        assertThat(later.bodyText()).isEqualTo("version 3!!");
        assertThat(later.header("etag")).isEqualTo(StaticFixture.etagOf(f));

        Files.delete(f);
        Thread.sleep(FileLookup.VALIDITY.toMillis() + 100);
        assertThat(get("/changing.txt").status).isEqualTo(404);
    }

    @Test
    void abortedDownloadsReleaseTheirFiles() throws Exception {
        long before = openFiles();
        for (int i = 0; i < 40; i++) {
            try (RawClient c = server.connect()) {
                c.socket().setSoLinger(true, 0);
                c.send("GET /big.bin HTTP/1.1\r\nHost: test\r\n\r\n");
                if (i % 2 == 0) {
                    c.socket().getInputStream().read(new byte[1024]);
                }
            }
        }
        // The server is still fine, and the descriptors were closed (allow for unrelated noise).
        assertThat(get("/hello.txt").status).isEqualTo(200);
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (openFiles() > before + 2 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(openFiles()).isLessThanOrEqualTo(before + 2);
    }

    private static long openFiles() throws Exception {
        Path big = fx.publicDir.resolve("big.bin").toRealPath();
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.filter(p -> {
                try {
                    return Files.readSymbolicLink(p).equals(big);
                } catch (Exception e) {
                    return false;
                }
            }).count();
        }
    }

    @Test
    void pipelinedRequestsOnOneConnection() throws Exception {
        try (RawClient c = server.connect()) {
            c.send("GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /digits.txt HTTP/1.1\r\nHost: t\r\n"
                    + "Range: bytes=0-0,2-2\r\n\r\nGET /missing HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "GET /digits.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            assertThat(c.read().bodyText()).isEqualTo(StaticFixture.HELLO);
            assertThat(c.read().status).isEqualTo(206);
            assertThat(c.read().status).isEqualTo(404);
            assertThat(c.read().bodyText()).isEqualTo(StaticFixture.DIGITS);
        }
    }

    @Test
    void jdkClientSeesTheSameAsRawBytes() throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/cc/hello.txt"))
                .header("Range", "bytes=7-11").build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).isEqualTo(206);
        assertThat(r.body()).isEqualTo("world");
        HttpResponse<String> redirect = client.send(HttpRequest.newBuilder(URI.create(server.uri("/docs").toString()))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(redirect.statusCode()).isEqualTo(301);
    }
}
