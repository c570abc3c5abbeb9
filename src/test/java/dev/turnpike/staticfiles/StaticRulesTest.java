package dev.turnpike.staticfiles;

import dev.turnpike.staticfiles.AcceptEncoding.Coding;
import dev.turnpike.staticfiles.ByteRanges.Range;
import dev.turnpike.staticfiles.Preconditions.Conditions;
import dev.turnpike.staticfiles.Preconditions.Outcome;
import dev.turnpike.staticfiles.StaticPathResolver.Mapped;
import dev.turnpike.staticfiles.StaticPathResolver.Rejection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The pure rules behind the static handler: paths, ranges, preconditions, codings, types. */
class StaticRulesTest {

    // ---- paths -----------------------------------------------------------------------------------------------

    @Test
    void mapsAndDecodesSegments() {
        assertThat(StaticPathResolver.resolve("/a/b%20c/%C3%BC.txt", Optional.empty(), false))
                .isEqualTo(new Mapped(List.of("a", "b c", "ü.txt"), false));
        assertThat(StaticPathResolver.resolve("/", Optional.empty(), false)).isEqualTo(new Mapped(List.of(), true));
        assertThat(StaticPathResolver.resolve("//a///b/", Optional.empty(), false))
                .isEqualTo(new Mapped(List.of("a", "b"), true));
        assertThat(StaticPathResolver.resolve("/a+b;c=d", Optional.empty(), false))
                .isEqualTo(new Mapped(List.of("a+b;c=d"), false));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/..%2Fx", "/a%2fb", "/a%5Cb", "/a\\b", "/%00", "/a%0Ab", "/%7F", "/%C2%85", "/%FF",
            "/%C0%AE%C0%AE", "/%E2%82", "/a%2", "/a%zz", "/%2E%2E", "/%2e", "relative", ""})
    void malformedPaths(String path) {
        assertThat(StaticPathResolver.resolve(path, Optional.empty(), true)).isEqualTo(Rejection.MALFORMED);
    }

    @Test
    void hiddenSegments() {
        assertThat(StaticPathResolver.resolve("/.env", Optional.empty(), false)).isEqualTo(Rejection.HIDDEN);
        assertThat(StaticPathResolver.resolve("/a/.git/config", Optional.empty(), false)).isEqualTo(Rejection.HIDDEN);
        assertThat(StaticPathResolver.resolve("/.env", Optional.empty(), true)).isInstanceOf(Mapped.class);
        assertThat(StaticPathResolver.resolve("/.well-known/x", Optional.empty(), false)).isInstanceOf(Mapped.class);
        assertThat(StaticPathResolver.resolve("/.well-known/.x", Optional.empty(), false)).isEqualTo(Rejection.HIDDEN);
        assertThat(StaticPathResolver.resolve("/a/.well-known/x", Optional.empty(), false)).isEqualTo(Rejection.HIDDEN);
        // Malformed wins over hidden: the answer never depends on which check ran first.
        assertThat(StaticPathResolver.resolve("/.env/%00", Optional.empty(), false)).isEqualTo(Rejection.MALFORMED);
    }

    @Test
    void stripPrefix() {
        Optional<String> p = Optional.of("/assets");
        assertThat(StaticPathResolver.resolve("/assets/a.js", p, false)).isEqualTo(new Mapped(List.of("a.js"), false));
        assertThat(StaticPathResolver.resolve("/assets", p, false)).isEqualTo(new Mapped(List.of(), false));
        assertThat(StaticPathResolver.resolve("/assets/", p, false)).isEqualTo(new Mapped(List.of(), true));
        assertThat(StaticPathResolver.resolve("/assetsx/a.js", p, false))
                .isEqualTo(new Mapped(List.of("assetsx", "a.js"), false));
        assertThat(StaticPathResolver.resolve("/assets/.well-known/t", p, false)).isInstanceOf(Mapped.class);
        assertThat(StaticPathResolver.strip("/x/y", "/x/")).isEqualTo("/y");
        assertThat(StaticPathResolver.strip("/x/y", "/")).isEqualTo("/x/y");
    }

    @Test
    void redirectLocationNeverLeavesTheHost() {
        assertThat(StaticFileHandler.redirectLocation("/docs", null)).isEqualTo("/docs/");
        assertThat(StaticFileHandler.redirectLocation("/docs", "a=1")).isEqualTo("/docs/?a=1");
        assertThat(StaticFileHandler.redirectLocation("//evil.example/x", null)).isEqualTo("/evil.example/x/");
        assertThat(StaticFileHandler.redirectLocation("///evil.example", "")).isEqualTo("/evil.example/?");
    }

    @Test
    void displayPath() {
        assertThat(StaticFileHandler.displayPath("/a/b%20c")).isEqualTo("/a/b c/");
        assertThat(StaticFileHandler.displayPath("/")).isEqualTo("/");
        assertThat(StaticFileHandler.displayPath("/x/%C3%BC/")).isEqualTo("/x/ü/");
    }

    // ---- ranges ----------------------------------------------------------------------------------------------

    private static List<Range> ranges(String header, long size) {
        ByteRanges.Result r = ByteRanges.parse(header, size);
        assertThat(r).isInstanceOf(ByteRanges.Satisfiable.class);
        return ((ByteRanges.Satisfiable) r).ranges();
    }

    @Test
    void rangeForms() {
        assertThat(ranges("bytes=0-0", 10)).containsExactly(new Range(0, 0));
        assertThat(ranges("bytes=-3", 10)).containsExactly(new Range(7, 9));
        assertThat(ranges("bytes=-30", 10)).containsExactly(new Range(0, 9));
        assertThat(ranges("bytes=4-", 10)).containsExactly(new Range(4, 9));
        assertThat(ranges("bytes=4-99999999999999999999999", 10)).containsExactly(new Range(4, 9));
        assertThat(ByteRanges.parse("bytes = 1-2", 10)).as("no OWS around =").isInstanceOf(ByteRanges.Ignore.class);
    }

    @Test
    void rangeCoalescingKeepsRequestOrder() {
        assertThat(ranges("bytes=5-6, 0-1, 1-3, 7-7", 10)).containsExactly(new Range(5, 7), new Range(0, 3));
        assertThat(ranges("bytes=0-9, 2-3", 10)).containsExactly(new Range(0, 9));
        assertThat(ranges("bytes=8-9,0-1", 10)).containsExactly(new Range(8, 9), new Range(0, 1));
        assertThat(ranges("bytes=0-1,,  ,3-4", 10)).containsExactly(new Range(0, 1), new Range(3, 4));
        assertThat(ranges("bytes=0-1,50-60", 10)).containsExactly(new Range(0, 1));
    }

    @Test
    void rangeRejections() {
        assertThat(ByteRanges.parse("bytes=10-", 10)).isInstanceOf(ByteRanges.Unsatisfiable.class);
        assertThat(ByteRanges.parse("bytes=-0", 10)).isInstanceOf(ByteRanges.Unsatisfiable.class);
        for (String h : List.of("bytes=", "bytes=,", "bytes=a-b", "bytes=3-1", "pages=1-2", "bytes=1", "bytes=-",
                "bytes=1-2,x", "bytes=+1-2", "bytes=1 -2")) {
            assertThat(ByteRanges.parse(h, 10)).as(h).isInstanceOf(ByteRanges.Ignore.class);
        }
        assertThat(ByteRanges.parse("bytes=0-1", 0)).isInstanceOf(ByteRanges.Ignore.class);
        String seventeen = "bytes=" + String.join(",", java.util.Collections.nCopies(17, "0-0"));
        assertThat(ByteRanges.parse(seventeen, 10)).isInstanceOf(ByteRanges.Ignore.class);
        String sixteen = "bytes=" + String.join(",", java.util.Collections.nCopies(16, "0-0"));
        assertThat(ranges(sixteen, 10)).containsExactly(new Range(0, 0));
    }

    // ---- preconditions ---------------------------------------------------------------------------------------

    private static final String TAG = "\"65f0a1b2-e\"";
    private static final long LM = 1_700_000_000L;
    private static final String LM_DATE = "Tue, 14 Nov 2023 22:13:20 GMT";

    private static Outcome eval(String ifMatch, String ifNoneMatch, String ims, String ius) {
        return Preconditions.evaluate(new Conditions(ifMatch, ifNoneMatch, ims, ius, null), TAG, LM, true);
    }

    @Test
    void preconditionOrder() {
        assertThat(eval(null, null, null, null)).isEqualTo(Outcome.PROCEED);
        assertThat(eval("\"x\"", TAG, null, null)).isEqualTo(Outcome.PRECONDITION_FAILED);
        assertThat(eval(TAG, TAG, null, null)).isEqualTo(Outcome.NOT_MODIFIED);
        assertThat(eval(null, null, null, "Sat, 01 Jan 2000 00:00:00 GMT")).isEqualTo(Outcome.PRECONDITION_FAILED);
        assertThat(eval(TAG, null, null, "Sat, 01 Jan 2000 00:00:00 GMT")).isEqualTo(Outcome.PROCEED);
        assertThat(eval(null, null, null, LM_DATE)).isEqualTo(Outcome.PROCEED);
        assertThat(eval(null, null, null, "garbage")).isEqualTo(Outcome.PROCEED);
        assertThat(eval(null, null, LM_DATE, null)).isEqualTo(Outcome.NOT_MODIFIED);
        assertThat(eval(null, null, "Tuesday, 14-Nov-23 22:13:20 GMT", null)).as("RFC 850").isEqualTo(Outcome.NOT_MODIFIED);
        assertThat(eval(null, null, "Tue Nov 14 22:13:20 2023", null)).as("asctime").isEqualTo(Outcome.NOT_MODIFIED);
        assertThat(eval(null, null, "Tue, 14 Nov 2023 22:13:19 GMT", null)).isEqualTo(Outcome.PROCEED);
        assertThat(eval(null, "\"x\"", LM_DATE, null)).isEqualTo(Outcome.PROCEED);
        assertThat(Preconditions.evaluate(new Conditions(null, TAG, null, null, null), TAG, LM, false))
                .isEqualTo(Outcome.PRECONDITION_FAILED);
    }

    @Test
    void entityTagLists() {
        assertThat(Preconditions.matches("\"a\", W/" + TAG, TAG, false)).isTrue();
        assertThat(Preconditions.matches("\"a\", W/" + TAG, TAG, true)).isFalse();
        assertThat(Preconditions.matches("\"a,b\"," + TAG, TAG, true)).isTrue();
        assertThat(Preconditions.matches(TAG.substring(1, TAG.length() - 1), TAG, false)).as("unquoted").isFalse();
        assertThat(Preconditions.matches("\"a\" junk, " + TAG, TAG, false)).isFalse();
        assertThat(Preconditions.matches(" * ", TAG, true)).isTrue();
    }

    @Test
    void ifRange() {
        assertThat(Preconditions.rangeAllowed(null, TAG, LM)).isTrue();
        assertThat(Preconditions.rangeAllowed(TAG, TAG, LM)).isTrue();
        assertThat(Preconditions.rangeAllowed("W/" + TAG, TAG, LM)).isFalse();
        assertThat(Preconditions.rangeAllowed("\"other\"", TAG, LM)).isFalse();
        assertThat(Preconditions.rangeAllowed(LM_DATE, TAG, LM)).isTrue();
        assertThat(Preconditions.rangeAllowed("Tue, 14 Nov 2023 22:13:21 GMT", TAG, LM)).isFalse();
        assertThat(Preconditions.rangeAllowed("soon", TAG, LM)).isFalse();
    }

    // ---- content codings and types --------------------------------------------------------------------------

    @Test
    void acceptEncoding() {
        assertThat(AcceptEncoding.preferred(null)).isEmpty();
        assertThat(AcceptEncoding.preferred("")).isEmpty();
        assertThat(AcceptEncoding.preferred("gzip, deflate, br, zstd")).containsExactly(Coding.BR, Coding.GZIP);
        assertThat(AcceptEncoding.preferred("gzip;q=1.0, br;q=0.9")).containsExactly(Coding.GZIP, Coding.BR);
        assertThat(AcceptEncoding.preferred("BR;Q=0.5")).containsExactly(Coding.BR);
        assertThat(AcceptEncoding.preferred("br;q=0, *")).containsExactly(Coding.GZIP);
        assertThat(AcceptEncoding.preferred("br;q=0.000")).isEmpty();
        assertThat(AcceptEncoding.preferred("br;q=2")).as("invalid q is not acceptable").isEmpty();
        assertThat(AcceptEncoding.preferred("identity;q=1, *;q=0")).isEmpty();
        assertThat(AcceptEncoding.preferred("deflate")).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "a.html | text/html; charset=utf-8",
            "a.HTM | text/html; charset=utf-8",
            "a.css | text/css; charset=utf-8",
            "a.js | text/javascript; charset=utf-8",
            "a.mjs | text/javascript; charset=utf-8",
            "a.json | application/json; charset=utf-8",
            "a.js.map | application/json; charset=utf-8",
            "a.svg | image/svg+xml; charset=utf-8",
            "a.png | image/png",
            "a.jpg | image/jpeg",
            "a.jpeg | image/jpeg",
            "a.gif | image/gif",
            "a.webp | image/webp",
            "a.avif | image/avif",
            "favicon.ico | image/x-icon",
            "a.woff | font/woff",
            "a.woff2 | font/woff2",
            "a.ttf | font/ttf",
            "a.otf | font/otf",
            "a.txt | text/plain; charset=utf-8",
            "a.xml | application/xml; charset=utf-8",
            "a.pdf | application/pdf",
            "a.wasm | application/wasm",
            "a.mp4 | video/mp4",
            "a.webm | video/webm",
            "a.mp3 | audio/mpeg",
            "a.ogg | audio/ogg",
            "a.zip | application/zip",
            "a.tar.gz | application/gzip",
            "a.br | application/x-brotli",
            "a.csv | text/csv; charset=utf-8",
            "README.md | text/markdown; charset=utf-8",
            "a.yaml | application/yaml; charset=utf-8",
            "a.yml | application/yaml; charset=utf-8",
            "site.webmanifest | application/manifest+json; charset=utf-8",
            "a.unknown | application/octet-stream",
            "Makefile | application/octet-stream",
            ".bashrc | application/octet-stream",
            "trailing. | application/octet-stream",
    })
    void mimeTypes(String name, String type) {
        assertThat(MimeTypes.forFileName(name)).isEqualTo(type);
    }

    @Test
    void listingNegotiationAndEncoding() {
        assertThat(DirectoryListing.wantsJson("format=json", null)).isTrue();
        assertThat(DirectoryListing.wantsJson("a=1&format=json", "text/html")).isTrue();
        assertThat(DirectoryListing.wantsJson("format=html", "application/json")).isFalse();
        assertThat(DirectoryListing.wantsJson(null, "application/json")).isTrue();
        assertThat(DirectoryListing.wantsJson(null, "text/html,application/xhtml+xml,*/*;q=0.8")).isFalse();
        assertThat(DirectoryListing.wantsJson(null, "*/*")).isFalse();
        assertThat(DirectoryListing.encodeSegment("a b:c?#ü")).isEqualTo("a%20b%3Ac%3F%23%C3%BC");
        assertThat(DirectoryListing.humanSize(1023)).isEqualTo("1023 B");
        assertThat(DirectoryListing.humanSize(1536)).isEqualTo("1.5 KiB");
        assertThat(DirectoryListing.humanSize(64L << 20)).isEqualTo("64.0 MiB");
    }

    @Test
    void etagFormat() {
        assertThat(StaticFileHandler.etag(0x65f0a1b2L, 14, null)).isEqualTo("\"65f0a1b2-e\"");
        assertThat(StaticFileHandler.etag(0x65f0a1b2L, 14, Coding.BR)).isEqualTo("\"65f0a1b2-e-br\"");
    }
}
