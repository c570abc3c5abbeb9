package dev.turnpike.http1;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class StrictHttp1RequestDecoderTest {

    static final Http1Limits LIMITS = new Http1Limits(8192, 16384, 100);

    private static ResourceLeakDetector.Level previousLevel;

    @BeforeAll
    static void paranoidLeakDetection() {
        previousLevel = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    }

    @AfterAll
    static void restoreLeakDetection() {
        ResourceLeakDetector.setLevel(previousLevel);
    }

    // =============================================================================================
    // Harness (also used by StrictHttp1RequestDecoderFuzzTest)
    // =============================================================================================

    /** Normalised decoder output; consecutive Body events are merged by {@link #merge}. */
    sealed interface Ev permits Head, Body, End, Err {
    }

    record Head(String method, String uri, String version, List<Map.Entry<String, String>> headers) implements Ev {
    }

    /** Body bytes as an ISO-8859-1 string (so that equals() compares bytes). */
    record Body(String bytes) implements Ev {
    }

    record End(List<Map.Entry<String, String>> trailers) implements Ev {
    }

    record Err(int status) implements Ev {
    }

    static Head head(String method, String uri, String version, String... nameValues) {
        return new Head(method, uri, version, entries(nameValues));
    }

    static End end(String... nameValues) {
        return new End(entries(nameValues));
    }

    static List<Map.Entry<String, String>> entries(String... nameValues) {
        List<Map.Entry<String, String>> l = new ArrayList<>();
        for (int i = 0; i < nameValues.length; i += 2) {
            l.add(Map.entry(nameValues[i], nameValues[i + 1]));
        }
        return List.copyOf(l);
    }

    /** Allocator that records every buffer it hands out so that leaks can be asserted precisely. */
    static final class TrackingAllocator extends AbstractByteBufAllocator {
        private final List<ByteBuf> allocated = new ArrayList<>();

        TrackingAllocator() {
            super(true);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf b = new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
            allocated.add(b);
            return b;
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf b = new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity);
            allocated.add(b);
            return b;
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }

        int live() {
            int n = 0;
            for (ByteBuf b : allocated) {
                if (b.refCnt() > 0) {
                    n++;
                }
            }
            return n;
        }
    }

    /** An EmbeddedChannel with the decoder; converts, checks and releases everything it emits. */
    static final class Harness implements AutoCloseable {
        final TrackingAllocator alloc = new TrackingAllocator();
        final StrictHttp1RequestDecoder decoder;
        final EmbeddedChannel ch;
        final List<Ev> events = new ArrayList<>();
        final List<String> errorReasons = new ArrayList<>();
        final List<ByteBuf> emitted = new ArrayList<>();
        int headStarts;

        Harness(Http1Limits limits) {
            decoder = new StrictHttp1RequestDecoder(limits);
            decoder.setListener(() -> headStarts++);
            ch = new EmbeddedChannel();
            ch.config().setAllocator(alloc);
            ch.pipeline().addLast(decoder);
        }

        /** Writes the bytes as one read (writeInbound rethrows anything fired through the pipeline). */
        List<Ev> write(byte[] data, int off, int len) {
            ByteBuf b = alloc.directBuffer(Math.max(len, 1));
            b.writeBytes(data, off, len);
            ch.writeInbound(b);
            return drain();
        }

        List<Ev> write(byte[] data) {
            return write(data, 0, data.length);
        }

        List<Ev> write(String s) {
            return write(bytes(s));
        }

        List<Ev> drain() {
            List<Ev> got = new ArrayList<>();
            Object m;
            while ((m = ch.readInbound()) != null) {
                got.add(convert(m));
            }
            events.addAll(got);
            return got;
        }

        private Ev convert(Object m) {
            if (m instanceof Http1DecodeError e) {
                errorReasons.add(e.reason());
                return new Err(e.status().code());
            }
            if (m instanceof HttpRequest r) {
                assertThat(r.getClass()).isEqualTo(DefaultHttpRequest.class);
                assertThat(r.headers().getClass()).isEqualTo(io.netty.handler.codec.http.DefaultHttpHeaders.class);
                assertThat(r.decoderResult().isSuccess()).isTrue();
                List<Map.Entry<String, String>> hs = new ArrayList<>();
                for (Map.Entry<String, String> e : r.headers()) {
                    hs.add(Map.entry(e.getKey(), e.getValue()));
                }
                return new Head(r.method().name(), r.uri(), r.protocolVersion().text(), List.copyOf(hs));
            }
            if (m instanceof LastHttpContent last) {
                assertThat(last.content().readableBytes()).isZero();
                List<Map.Entry<String, String>> ts = new ArrayList<>();
                for (Map.Entry<String, String> e : last.trailingHeaders()) {
                    ts.add(Map.entry(e.getKey(), e.getValue()));
                }
                if (ts.isEmpty()) {
                    assertThat(last).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
                }
                last.release();
                return new End(List.copyOf(ts));
            }
            if (m instanceof HttpContent c) {
                assertThat(c.getClass()).isEqualTo(DefaultHttpContent.class);
                // Slices of unpooled buffers share their parent's count, so only >= 1 can be asserted
                // here; close() asserts that every emitted buffer ends at refCnt 0.
                assertThat(c.refCnt()).isPositive();
                assertThat(c.content().readableBytes()).isPositive();
                String s = c.content().toString(StandardCharsets.ISO_8859_1);
                emitted.add(c.content());
                c.release();
                return new Body(s);
            }
            throw new AssertionError("unexpected message " + m);
        }

        @Override
        public void close() {
            ch.finishAndReleaseAll();
            drain();
            for (ByteBuf b : emitted) {
                assertThat(b.refCnt()).as("emitted content not released").isZero();
            }
            assertThat(alloc.live()).as("unreleased buffers").isZero();
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Merges consecutive Body events. */
    static List<Ev> merge(List<Ev> evs) {
        List<Ev> out = new ArrayList<>();
        for (Ev e : evs) {
            if (e instanceof Body b && !out.isEmpty() && out.getLast() instanceof Body prev) {
                out.set(out.size() - 1, new Body(prev.bytes() + b.bytes()));
            } else {
                out.add(e);
            }
        }
        return out;
    }

    /** Feeds the input using the given split points; returns the merged transcript. */
    static List<Ev> feed(Http1Limits limits, byte[] input, int[] splitSizes) {
        try (Harness h = new Harness(limits)) {
            int off = 0;
            int i = 0;
            while (off < input.length) {
                int len = Math.min(input.length - off, Math.max(1, splitSizes[i++ % splitSizes.length]));
                h.write(input, off, len);
                off += len;
            }
            checkGrammar(h.events);
            return merge(h.events);
        }
    }

    /**
     * Decodes the input in one read, byte by byte and with pseudo-random splits, asserts the
     * transcripts are identical and returns it.
     */
    static List<Ev> decode(Http1Limits limits, byte[] input) {
        List<Ev> whole = feed(limits, input, new int[] {Math.max(1, input.length)});
        assertThat(feed(limits, input, new int[] {1})).as("byte-by-byte").isEqualTo(whole);
        Random rnd = new Random(Arrays.hashCode(input));
        int[] splits = new int[17];
        for (int i = 0; i < splits.length; i++) {
            splits[i] = 1 + rnd.nextInt(i % 3 == 0 ? 3 : 64);
        }
        assertThat(feed(limits, input, splits)).as("random splits").isEqualTo(whole);
        return whole;
    }

    static List<Ev> decode(String input) {
        return decode(LIMITS, bytes(input));
    }

    /** (Head Body* End)* [Head Body*] [Err], at most one Err and it is last. */
    static void checkGrammar(List<Ev> evs) {
        int state = 0; // 0 = expect head, 1 = in request
        for (int i = 0; i < evs.size(); i++) {
            Ev e = evs.get(i);
            if (e instanceof Err) {
                assertThat(i).as("error must be the last event: %s", evs).isEqualTo(evs.size() - 1);
            } else if (e instanceof Head) {
                assertThat(state).as("head in the middle of a request: %s", evs).isZero();
                state = 1;
            } else {
                assertThat(state).as("content outside a request: %s", evs).isEqualTo(1);
                if (e instanceof End) {
                    state = 0;
                }
            }
        }
    }

    static void assertRejected(String input, int status) {
        assertThat(decode(input)).containsExactly(new Err(status));
    }

    static void assertRejected(Http1Limits limits, String input, int status) {
        assertThat(decode(limits, bytes(input))).containsExactly(new Err(status));
    }

    static String get(String target) {
        return "GET " + target + " HTTP/1.1\r\nHost: example.com\r\n\r\n";
    }

    static String withHeaders(String... lines) {
        StringBuilder sb = new StringBuilder("GET / HTTP/1.1\r\n");
        for (String l : lines) {
            sb.append(l).append("\r\n");
        }
        return sb.append("\r\n").toString();
    }

    static String chunked(String body) {
        return "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body;
    }

    static final Head CHUNKED_HEAD = head("POST", "/upload", "HTTP/1.1", "Host", "h", "Transfer-Encoding", "chunked");

    // =============================================================================================
    // Valid requests
    // =============================================================================================

    @Nested
    class Valid {
        @Test
        void simpleGet() {
            assertThat(decode("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"))
                    .containsExactly(head("GET", "/index.html?q=1", "HTTP/1.1", "Host", "example.com", "Accept", "*/*"),
                            end());
        }

        @Test
        void headRequest() {
            assertThat(decode("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"))
                    .containsExactly(head("HEAD", "/", "HTTP/1.1", "Host", "a"), end());
        }

        @Test
        void methodsAreCachedConstantsOrCustomTokens() {
            assertThat(decode("PURGE / HTTP/1.1\r\nHost: a\r\n\r\n"))
                    .containsExactly(head("PURGE", "/", "HTTP/1.1", "Host", "a"), end());
            try (Harness h = new Harness(LIMITS)) {
                h.ch.writeInbound(h.alloc.buffer().writeBytes(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n")));
                HttpRequest r = h.ch.readInbound();
                assertThat(r.method()).isSameAs(io.netty.handler.codec.http.HttpMethod.GET);
                h.drain();
            }
            assertThat(decode("M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n")).containsExactly(new Err(400));
            assertThat(decode("M-SEARCH /x HTTP/1.1\r\nHost: a\r\n\r\n"))
                    .containsExactly(head("M-SEARCH", "/x", "HTTP/1.1", "Host", "a"), end());
        }

        @Test
        void http10WithoutHost() {
            assertThat(decode("GET / HTTP/1.0\r\n\r\n")).containsExactly(head("GET", "/", "HTTP/1.0"), end());
        }

        @Test
        void postWithContentLength() {
            assertThat(decode("POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"))
                    .containsExactly(head("POST", "/form", "HTTP/1.1", "Host", "a", "Content-Length", "11"),
                            new Body("hello world"), end());
        }

        @Test
        void contentLengthZeroHasNoBody() {
            assertThat(decode("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"))
                    .containsExactly(head("POST", "/", "HTTP/1.1", "Host", "a", "Content-Length", "0"), end());
        }

        @Test
        void contentLengthBodyThenNextRequest() {
            assertThat(decode("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /n HTTP/1.1\r\nHost: b\r\n\r\n"))
                    .containsExactly(head("POST", "/", "HTTP/1.1", "Host", "a", "Content-Length", "3"), new Body("abc"),
                            end(), head("GET", "/n", "HTTP/1.1", "Host", "b"), end());
        }

        @Test
        void chunkedWithExtensionsAndTrailers() {
            String body = "5;name=value;q=\"quoted \\\" \\\\ str\"\r\nhello\r\n"
                    + "000a ; ext ;e2 = tok\r\n0123456789\r\n"
                    + "1;a;b=\"\"\r\n!\r\n"
                    + "0;last\r\nX-Checksum: abc\r\nX-Other:  v  \r\n\r\n";
            assertThat(decode(chunked(body))).containsExactly(CHUNKED_HEAD, new Body("hello0123456789!"),
                    end("X-Checksum", "abc", "X-Other", "v"));
        }

        @Test
        void chunkedWithoutTrailersEndsWithEmptyLastContent() {
            assertThat(decode(chunked("3\r\nabc\r\n0\r\n\r\n")))
                    .containsExactly(CHUNKED_HEAD, new Body("abc"), end());
        }

        @Test
        void chunkedSizeCaseAndLeadingZeros() {
            assertThat(decode(chunked("00000000000000B\r\n0123456789a\r\n00\r\n\r\n")))
                    .containsExactly(CHUNKED_HEAD, new Body("0123456789a"), end());
        }

        @Test
        void transferEncodingCaseInsensitiveAndOws() {
            assertThat(decode("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\t ChUnKeD \t\r\n\r\n0\r\n\r\n"))
                    .containsExactly(head("POST", "/", "HTTP/1.1", "Host", "h", "Transfer-Encoding", "ChUnKeD"), end());
        }

        @Test
        void threePipelinedRequestsInOneBuffer() {
            String in = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
                    + "PUT /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nyo\r\n0\r\n\r\n";
            try (Harness h = new Harness(LIMITS)) {
                h.write(in);
                assertThat(merge(h.events)).containsExactly(
                        head("GET", "/1", "HTTP/1.1", "Host", "a"), end(),
                        head("POST", "/2", "HTTP/1.1", "Host", "a", "Content-Length", "2"), new Body("hi"), end(),
                        head("PUT", "/3", "HTTP/1.1", "Host", "a", "Transfer-Encoding", "chunked"), new Body("yo"), end());
                assertThat(h.headStarts).isEqualTo(3);
                assertThat(h.decoder.isMidRequest()).isFalse();
            }
            decode(in); // split invariance
        }

        @Test
        void absoluteForm() {
            assertThat(decode("GET http://example.com:8080/a?b HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"))
                    .containsExactly(head("GET", "http://example.com:8080/a?b", "HTTP/1.1", "Host", "example.com:8080"), end());
            assertThat(decode("GET HTTPS://[::1]?x HTTP/1.1\r\nHost: [::1]\r\n\r\n"))
                    .containsExactly(head("GET", "HTTPS://[::1]?x", "HTTP/1.1", "Host", "[::1]"), end());
        }

        @Test
        void optionsAsterisk() {
            assertThat(decode("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"))
                    .containsExactly(head("OPTIONS", "*", "HTTP/1.1", "Host", "a"), end());
        }

        @Test
        void connectAuthorityForm() {
            assertThat(decode("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"))
                    .containsExactly(head("CONNECT", "example.com:443", "HTTP/1.1", "Host", "example.com:443"), end());
            assertThat(decode("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n"))
                    .containsExactly(head("CONNECT", "[2001:db8::1]:443", "HTTP/1.1", "Host", "[2001:db8::1]:443"), end());
        }

        @Test
        void rawTargetIsPreserved() {
            String target = "/a%20b/../c;p=1?x=%FF&y=[]&z=~!$'()*+,:@";
            assertThat(decode(get(target))).containsExactly(head("GET", target, "HTTP/1.1", "Host", "example.com"), end());
        }

        @Test
        void headerOrderAndCaseArePreservedAndValuesTrimmed() {
            assertThat(decode(withHeaders("hOsT: a", "X-A:1", "x-a: \t2\t ", "X-Empty:", "X-Empty2:  \t ", "X-In: a \t b")))
                    .containsExactly(head("GET", "/", "HTTP/1.1", "hOsT", "a", "X-A", "1", "x-a", "2", "X-Empty", "",
                            "X-Empty2", "", "X-In", "a \t b"), end());
        }

        @Test
        void obsTextIsAllowedInValues() {
            assertThat(decode(withHeaders("Host: a", "X-Latin: caf\u00e9 \u00ff\u0080")))
                    .containsExactly(head("GET", "/", "HTTP/1.1", "Host", "a", "X-Latin", "caf\u00e9 \u00ff\u0080"), end());
        }

        @Test
        void upToFourLeadingEmptyLinesAreSkipped() {
            assertThat(decode("\r\n\r\n\r\n\r\n" + get("/")))
                    .containsExactly(head("GET", "/", "HTTP/1.1", "Host", "example.com"), end());
            // The allowance is per request.
            assertThat(decode(get("/a") + "\r\n\r\n\r\n\r\n" + get("/b"))).containsExactly(
                    head("GET", "/a", "HTTP/1.1", "Host", "example.com"), end(),
                    head("GET", "/b", "HTTP/1.1", "Host", "example.com"), end());
        }

        @Test
        void validHostForms() {
            for (String host : List.of("", "example.com", "EXAMPLE.com:80", "127.0.0.1", "127.0.0.1:65535",
                    "[::1]", "[::1]:8080", "[2001:db8:0:0:0:0:2:1]", "[::ffff:192.0.2.1]", "[1:2:3:4:5:6:7::]",
                    "[v1.fe80::a+en1]", "xn--bcher-kva.example", "a%2Eb", "under_score~!$&'()*+,;=")) {
                assertThat(decode(withHeaders("Host: " + host)))
                        .as(host)
                        .containsExactly(head("GET", "/", "HTTP/1.1", "Host", host), end());
            }
        }

        @Test
        void maxContentLengthIsAccepted() {
            try (Harness h = new Harness(LIMITS)) {
                h.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\nab");
                assertThat(merge(h.events)).containsExactly(
                        head("POST", "/", "HTTP/1.1", "Host", "a", "Content-Length", "9223372036854775807"), new Body("ab"));
                assertThat(h.decoder.isMidRequest()).isTrue();
            }
        }

        @Test
        void exactLimitsAreAccepted() {
            // request line of exactly maxRequestLineLength bytes
            String line = "GET /" + "a".repeat(20 - 14) + " HTTP/1.1";
            assertThat(line).hasSize(20);
            // header section: "Host: a\r\n" (9) + "X: 1234\r\n" (9) = 18 bytes, 2 fields
            Http1Limits limits = new Http1Limits(20, 18, 2);
            assertThat(decode(limits, bytes(line + "\r\nHost: a\r\nX: 1234\r\n\r\n")))
                    .containsExactly(head("GET", "/aaaaaa", "HTTP/1.1", "Host", "a", "X", "1234"), end());
        }
    }

    // =============================================================================================
    // Request line
    // =============================================================================================

    @Nested
    class RequestLine {
        @ParameterizedTest
        @ValueSource(strings = {
                "GET  / HTTP/1.1\r\n", // double SP
                "GET /  HTTP/1.1\r\n",
                "GET / HTTP/1.1 \r\n", // trailing SP
                " GET / HTTP/1.1\r\n", // leading SP
                "GET\t/ HTTP/1.1\r\n", // HTAB instead of SP
                "GET /\tHTTP/1.1\r\n",
                "GET /\r\n", // HTTP/0.9 style
                "GET\r\n",
                "GET / http/1.1\r\n", // lowercase
                "GET / HTTP/1.10\r\n",
                "GET / HTTP/11\r\n",
                "GET / HTTP/1.x\r\n",
                "GET / HTTPS/1.1\r\n",
                "GET / x HTTP/1.1\r\n",
                "G(T / HTTP/1.1\r\n", // non-tchar in method
                "G\u00c9T / HTTP/1.1\r\n",
                "GET /a\u0000b HTTP/1.1\r\n", // CTL in target
                "GET /\u00e9 HTTP/1.1\r\n", // non-ASCII in target
                "GET /a#frag HTTP/1.1\r\n", // fragment
                "GET /a\u007f HTTP/1.1\r\n", // DEL in target
        })
        void malformedRequestLineIs400(String line) {
            assertRejected(line + "Host: a\r\n\r\n", 400);
        }

        @ParameterizedTest
        @ValueSource(strings = {"HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0", "HTTP/9.9"})
        void otherWellFormedVersionIs505(String version) {
            assertRejected("GET / " + version + "\r\nHost: a\r\n\r\n", 505);
        }

        @Test
        void fiveLeadingEmptyLinesAre400() {
            assertRejected("\r\n\r\n\r\n\r\n\r\n" + get("/"), 400);
        }

        @Test
        void leadingBareLfOrBareCrIs400() {
            assertRejected("\n" + get("/"), 400);
            assertRejected("\r" + get("/"), 400);
        }

        @Test
        void bareLfEndingRequestLineIs400() {
            assertRejected("GET / HTTP/1.1\nHost: a\r\n\r\n", 400);
        }

        @Test
        void bareCrInRequestLineIs400() {
            assertRejected("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400);
            assertRejected("GET / HTTP/1.1\r\rHost: a\r\n\r\n", 400);
            assertRejected("GET / HTTP/1.1\r\r\n\r\n", 400);
        }

        @Test
        void requestLineLongerThanLimitIs414() {
            Http1Limits limits = new Http1Limits(20, 1000, 10);
            assertRejected(limits, "GET /" + "a".repeat(7) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414); // 21 bytes
            assertRejected(limits, "GET /" + "a".repeat(100) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414);
            // exactly 21 bytes then a bare LF: still too long
            assertRejected(limits, "GET /" + "a".repeat(7) + " HTTP/1.1\nHost: a\r\n\r\n", 414);
        }

        @Test
        void requestLineLimitIsDetectedWithoutWaitingForCrlf() {
            Http1Limits limits = new Http1Limits(20, 1000, 10);
            try (Harness h = new Harness(limits)) {
                // 20 bytes: could still be a valid line
                assertThat(h.write("GET /aaaaaaaaaaaaaaa")).isEmpty();
                // 21st byte is not CR: cannot end within the limit
                assertThat(h.write("a")).containsExactly(new Err(414));
                assertThat(h.write("aaaa HTTP/1.1\r\n\r\n")).isEmpty();
            }
            try (Harness h = new Harness(limits)) {
                assertThat(h.write("GET /aaaaaaaaaaaaaaa\r")).isEmpty();
                assertThat(h.write("x")).containsExactly(new Err(414));
            }
            try (Harness h = new Harness(limits)) {
                assertThat(h.write("X".repeat(10_000))).containsExactly(new Err(414));
            }
        }

        @ParameterizedTest
        @ValueSource(strings = {
                "GET foo HTTP/1.1", // relative
                "GET example.com:80 HTTP/1.1", // authority-form for non-CONNECT
                "GET * HTTP/1.1", // asterisk for non-OPTIONS
                "OPTIONS ** HTTP/1.1",
                "GET ftp://example.com/ HTTP/1.1", // other scheme
                "GET http:/example.com/ HTTP/1.1",
                "GET http:// HTTP/1.1", // empty authority
                "GET http:///path HTTP/1.1",
                "GET http://user:pw@example.com/ HTTP/1.1", // userinfo
                "GET http://exa%mple.com/ HTTP/1.1",
                "GET httpx://example.com/ HTTP/1.1",
                "GET //example.com HTTP/1.1x", // (version malformed)
                "CONNECT / HTTP/1.1", // CONNECT needs authority-form
                "CONNECT example.com HTTP/1.1", // port required
                "CONNECT example.com: HTTP/1.1",
                "CONNECT http://example.com:443/ HTTP/1.1",
                "CONNECT * HTTP/1.1",
                "CONNECT u@example.com:443 HTTP/1.1",
        })
        void invalidTargetFormIs400(String line) {
            assertRejected(line + "\r\nHost: a\r\n\r\n", 400);
        }
    }

    // =============================================================================================
    // Header section
    // =============================================================================================

    @Nested
    class HeaderSection {
        @Test
        void headerSectionLargerThanLimitIs431() {
            Http1Limits limits = new Http1Limits(100, 18, 10);
            // "Host: a\r\n" (9) + "X: 12345\r\n" (10) = 19 > 18
            assertRejected(limits, "GET / HTTP/1.1\r\nHost: a\r\nX: 12345\r\n\r\n", 431);
            // one huge line
            assertRejected(limits, "GET / HTTP/1.1\r\nX: " + "a".repeat(5000) + "\r\nHost: a\r\n\r\n", 431);
        }

        @Test
        void headerSectionLimitIsDetectedWithoutWaitingForLineEnd() {
            Http1Limits limits = new Http1Limits(100, 18, 10);
            try (Harness h = new Harness(limits)) {
                assertThat(h.write("GET / HTTP/1.1\r\nHost: a\r\nX: 1234")).isEmpty(); // 16 of 18 bytes
                assertThat(h.write("\r")).isEmpty(); // could still be "X: 1234\r\n" = 18
                assertThat(h.write("5")).containsExactly(new Err(431));
            }
            try (Harness h = new Harness(limits)) {
                assertThat(h.write("GET / HTTP/1.1\r\n" + "Y".repeat(100_000))).containsExactly(new Err(431));
            }
        }

        @Test
        void tooManyFieldsIs431() {
            Http1Limits limits = new Http1Limits(100, 1000, 3);
            assertThat(decode(limits, bytes(withHeaders("Host: a", "A: 1", "B: 2"))))
                    .containsExactly(head("GET", "/", "HTTP/1.1", "Host", "a", "A", "1", "B", "2"), end());
            assertRejected(limits, withHeaders("Host: a", "A: 1", "B: 2", "C: 3"), 431);
        }

        @Test
        void bareLfLineEndingIs400() {
            assertRejected("GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n", 400);
            assertRejected("GET / HTTP/1.1\r\nHost: a\r\n\n", 400); // bare LF as the empty line
            assertRejected("GET / HTTP/1.1\r\nHost: a\r\nX: 1\n\r\n", 400);
        }

        @Test
        void bareCrIs400() {
            assertRejected("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r2\r\n\r\n", 400); // inside a value
            assertRejected("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\r\n\r\n", 400); // before CRLF
            assertRejected("GET / HTTP/1.1\r\nHost: a\r\n\rX: 1\r\n\r\n", 400); // CR not followed by LF
            assertRejected("GET / HTTP/1.1\r\nHost: a\r\nX\r: 1\r\n\r\n", 400); // inside a name
        }

        @Test
        void whitespaceBetweenNameAndColonIs400() {
            assertRejected(withHeaders("Host: a", "X-Foo : bar"), 400);
            assertRejected(withHeaders("Host: a", "X-Foo\t: bar"), 400);
            assertRejected(withHeaders("Host : a"), 400);
        }

        @Test
        void emptyNameOrMissingColonIs400() {
            assertRejected(withHeaders("Host: a", ": bar"), 400);
            assertRejected(withHeaders("Host: a", "NoColon"), 400);
        }

        @Test
        void invalidNameCharacterIs400() {
            for (String name : List.of("X(Y", "X/Y", "X@Y", "X\"Y", "X\u00e9", "X\u0000", "X\u007f", "[X]", "X Y")) {
                assertRejected(withHeaders("Host: a", name + ": v"), 400);
            }
        }

        @Test
        void obsFoldIs400() {
            assertRejected(withHeaders("Host: a", "X: 1", " continued"), 400);
            assertRejected(withHeaders("Host: a", "X: 1", "\tcontinued"), 400);
            assertRejected("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400); // whitespace before first field
        }

        @ParameterizedTest
        @ValueSource(ints = {0x00, 0x01, 0x08, 0x0b, 0x0c, 0x0e, 0x1f, 0x7f})
        void ctlOrDelInFieldValueIs400(int ctl) {
            assertRejected(withHeaders("Host: a", "X: a" + (char) ctl + "b"), 400);
            assertRejected(withHeaders("Host: a", "X: " + (char) ctl), 400);
        }
    }

    // =============================================================================================
    // Host
    // =============================================================================================

    @Nested
    class Host {
        @Test
        void http11WithoutHostIs400() {
            assertRejected("GET / HTTP/1.1\r\nX: 1\r\n\r\n", 400);
        }

        @Test
        void http11WithTwoHostsIs400() {
            assertRejected(withHeaders("Host: a", "Host: a"), 400);
            assertRejected(withHeaders("Host: a", "host: b"), 400);
        }

        @Test
        void http10MayHaveZeroOrOneButNotTwo() {
            assertThat(decode("GET / HTTP/1.0\r\nHost: a\r\n\r\n"))
                    .containsExactly(head("GET", "/", "HTTP/1.0", "Host", "a"), end());
            assertRejected("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400);
        }

        @ParameterizedTest
        @ValueSource(strings = {"user@example.com", "user:pw@example.com", "exa mple.com", "example.com/", "example.com/x",
                "example.com:", "example.com:123456", "example.com:8a", "example.com:-1", ":80", "[::1", "::1",
                "[::1]x", "[::1]:", "[1:2:3:4:5:6:7:8:9]", "[1::2::3]", "[12345::]", "[::1%25eth0]", "[1.2.3.4]",
                "[::256.1.1.1]", "[::01.1.1.1]", "[vx.abc]", "[v1.]", "[]", "a%zz", "a%2", "ex\u00e9mple.com",
                "example.com:80:80", "a\"b", "a<b"})
        void invalidHostIs400(String host) {
            assertRejected(withHeaders("Host: " + host), 400);
        }
    }

    // =============================================================================================
    // Content-Length
    // =============================================================================================

    @Nested
    class ContentLength {
        @Test
        void twoContentLengthFieldsAre400EvenIfIdentical() {
            assertRejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400);
            assertRejected("POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 1\r\nCONTENT-LENGTH: 2\r\n\r\nx", 400);
        }

        @ParameterizedTest
        @ValueSource(strings = {"", "+1", "-1", "1 2", "1,1", "1, 1", "0x10", "1.0", "a", "12345678901234567890",
                "9223372036854775808", "99999999999999999999", "\u0661"})
        void invalidContentLengthIs400(String value) {
            assertRejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + value + "\r\n\r\n", 400);
        }

        @Test
        void leadingZerosAndOwsAreFine() {
            assertThat(decode("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \t0003 \r\n\r\nabc"))
                    .containsExactly(head("POST", "/", "HTTP/1.1", "Host", "a", "Content-Length", "0003"),
                            new Body("abc"), end());
        }
    }

    // =============================================================================================
    // Transfer-Encoding
    // =============================================================================================

    @Nested
    class TransferEncoding {
        @Test
        void contentLengthAndTransferEncodingIs400() {
            assertRejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
            assertRejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400);
        }

        @Test
        void finalCodingNotChunkedIs400() {
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: gzip"), 400);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: chunked, gzip"), 400);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip"), 400);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: chunkedx"), 400);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: \"chunked\""), 400);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: chunked;q=1"), 400);
        }

        @Test
        void chunkedMoreThanOnceIs400() {
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: chunked, chunked"), 400);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"), 400);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: chunked, gzip, chunked"), 400);
        }

        @Test
        void otherCodingBeforeChunkedIs501() {
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: gzip, chunked"), 501);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked"), 501);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: identity,chunked"), 501);
        }

        @Test
        void transferEncodingInHttp10Is400() {
            assertRejected("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
        }

        @Test
        void emptyValueOrEmptyElementIs400() {
            assertRejected(withHeaders("Host: a", "Transfer-Encoding:"), 400);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding:   "), 400);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: , chunked"), 400);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: gzip,,chunked"), 400);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: chunked,"), 400);
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding:"), 400);
        }

        @Test
        void owsAroundCommasIsFine() {
            assertRejected(withHeaders("Host: a", "Transfer-Encoding: gzip \t,\t CHUNKED"), 501);
        }
    }

    // =============================================================================================
    // Chunked body
    // =============================================================================================

    @Nested
    class Chunked {
        private void assertChunkedRejected(String body, int status) {
            List<Ev> evs = decode(chunked(body));
            assertThat(evs.getFirst()).isEqualTo(CHUNKED_HEAD);
            assertThat(evs.getLast()).isEqualTo(new Err(status));
            assertThat(evs).filteredOn(e -> e instanceof Err).hasSize(1);
            assertThat(evs).noneMatch(e -> e instanceof End);
        }

        @ParameterizedTest
        @ValueSource(strings = {"\r\n", "g\r\n", "-1\r\n", "+1\r\n", "0x1\r\n", " 1\r\n", "1 \r\n", "1\t\r\n",
                "11111111111111111\r\n", "00000000000000001\r\n", "8000000000000000\r\n", "FFFFFFFFFFFFFFFF\r\n"})
        void invalidChunkSizeIs400(String line) {
            assertChunkedRejected(line + "x\r\n0\r\n\r\n", 400);
        }

        @Test
        void maxChunkSizeIsAccepted() {
            try (Harness h = new Harness(LIMITS)) {
                h.write(chunked("7fffffffffffffff\r\nabc"));
                assertThat(merge(h.events)).containsExactly(CHUNKED_HEAD, new Body("abc"));
            }
        }

        @ParameterizedTest
        @ValueSource(strings = {";", "; ", ";=", ";a=", ";a =", ";a b", ";a=b c", ";a=\"", ";a=\"x", ";a=\"x\"y",
                ";a=\"\\\"", ";a=\"x\u0001\"", ";a=\"x\u007f\"", ";a=b;", ";(a)", ";a=(b)", "x", ";a\u0000", ";a=\u00e9",
                ";a ", ";a=b ", ";a=\"\\\u0001\""})
        void invalidChunkExtensionIs400(String ext) {
            assertChunkedRejected("1" + ext + "\r\nx\r\n0\r\n\r\n", 400);
        }

        @Test
        void validChunkExtensions() {
            for (String ext : List.of(";a", " ;a", "\t; a", ";a=b", ";a = b", ";a\t=\t\"\"", ";a=\"\\\\\\\"\"",
                    ";a=\"x\u00e9y\"", ";a;b;c=d;e=\"f g\"", ";!#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~")) {
                assertThat(decode(chunked("1" + ext + "\r\nx\r\n0" + ext + "\r\n\r\n")))
                        .as(ext).containsExactly(CHUNKED_HEAD, new Body("x"), end());
            }
        }

        @Test
        void chunkLineBareLfOrBareCrIs400() {
            assertChunkedRejected("1\nx\r\n0\r\n\r\n", 400);
            assertChunkedRejected("1\rx\r\n0\r\n\r\n", 400);
            assertChunkedRejected("1;a=b\r\r\nx\r\n0\r\n\r\n", 400);
            assertChunkedRejected("1\r\nx\r\n0\n\r\n", 400);
        }

        @Test
        void chunkLineLongerThan4096Is400() {
            String ext = ";a=" + "b".repeat(4096);
            assertChunkedRejected("1" + ext + "\r\nx\r\n0\r\n\r\n", 400);
            // exactly 4096 is fine
            String ok = ";a=" + "b".repeat(4096 - 4);
            assertThat(decode(chunked("1" + ok + "\r\nx\r\n0\r\n\r\n"))).containsExactly(CHUNKED_HEAD, new Body("x"), end());
            // detected without waiting for the end of the line
            try (Harness h = new Harness(LIMITS)) {
                h.write(chunked("1;a=" + "b".repeat(10_000)));
                assertThat(h.events).containsExactly(CHUNKED_HEAD, new Err(400));
            }
        }

        @Test
        void chunkDataNotFollowedByCrlfIs400() {
            assertChunkedRejected("1\r\nxy\r\n0\r\n\r\n", 400);
            assertChunkedRejected("1\r\nx\n0\r\n\r\n", 400);
            assertChunkedRejected("1\r\nx\r0\r\n\r\n", 400);
            assertChunkedRejected("1\r\nx0\r\n\r\n", 400);
            assertThat(decode(chunked("2\r\nxy\r\n0\r\n\r\n"))).containsExactly(CHUNKED_HEAD, new Body("xy"), end());
        }

        @Test
        void trailersFollowFieldRules() {
            assertChunkedRejected("0\r\nX : y\r\n\r\n", 400);
            assertChunkedRejected("0\r\nX: y\u0000\r\n\r\n", 400);
            assertChunkedRejected("0\r\nX: y\r\n folded\r\n\r\n", 400);
            assertChunkedRejected("0\r\nX: y\n\r\n", 400);
            assertChunkedRejected("0\r\nX: y\r\n\n", 400);
            assertChunkedRejected("0\r\nNoColon\r\n\r\n", 400);
        }

        @Test
        void framingFieldsInTrailersAre400() {
            assertChunkedRejected("0\r\nContent-Length: 5\r\n\r\n", 400);
            assertChunkedRejected("0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
            assertChunkedRejected("0\r\nHost: evil\r\n\r\n", 400);
        }

        @Test
        void trailerSectionLargerThanLimitIs431() {
            Http1Limits limits = new Http1Limits(100, 60, 3);
            String head = "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"; // 37 field bytes
            List<Ev> evs = decode(limits, bytes(head + "0\r\nX: " + "a".repeat(60) + "\r\n\r\n"));
            assertThat(evs).containsExactly(CHUNKED_HEAD, new Err(431));
            // the trailer budget is separate from the header budget
            evs = decode(limits, bytes(head + "0\r\nX: " + "a".repeat(50) + "\r\n\r\n"));
            assertThat(evs).containsExactly(CHUNKED_HEAD, end("X", "a".repeat(50)));
            // and so is the count
            evs = decode(limits, bytes(head + "0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"));
            assertThat(evs).containsExactly(CHUNKED_HEAD, new Err(431));
        }

        @Test
        void chunkedThenPipelinedRequest() {
            assertThat(decode(chunked("1\r\na\r\n0\r\n\r\n") + get("/next"))).containsExactly(CHUNKED_HEAD,
                    new Body("a"), end(), head("GET", "/next", "HTTP/1.1", "Host", "example.com"), end());
        }
    }

    // =============================================================================================
    // Error handling, streaming, listener
    // =============================================================================================

    @Nested
    class Behaviour {
        @Test
        void nothingIsEmittedAfterAnError() {
            try (Harness h = new Harness(LIMITS)) {
                assertThat(h.write(get("/ok") + "GET  / HTTP/1.1\r\nHost: a\r\n\r\n" + get("/valid-but-ignored")))
                        .containsExactly(head("GET", "/ok", "HTTP/1.1", "Host", "example.com"), end(), new Err(400));
                assertThat(h.write(get("/still-ignored"))).isEmpty();
                assertThat(h.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx")).isEmpty();
                assertThat(h.decoder.isMidRequest()).isFalse();
                assertThat(h.errorReasons).hasSize(1);
            }
        }

        @Test
        void errorMidBodyStopsEverything() {
            try (Harness h = new Harness(LIMITS)) {
                h.write(chunked("2\r\nab\r\nzz\r\n") + get("/ignored"));
                assertThat(merge(h.events)).containsExactly(CHUNKED_HEAD, new Body("ab"), new Err(400));
                assertThat(h.write("0\r\n\r\n")).isEmpty();
            }
        }

        @Test
        void byteByByteFeedingIsEquivalent() {
            String in = "\r\nPOST /a?b=c HTTP/1.1\r\nHost: [::1]:80\r\nX-Long: " + "v".repeat(300)
                    + "\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "1a;ext=\"va;l\"\r\n" + "z".repeat(26) + "\r\n0\r\nT: 1\r\n\r\n"
                    + "PUT /b HTTP/1.0\r\nContent-Length: 5\r\n\r\n12345"
                    + "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
            byte[] input = bytes(in);
            List<Ev> whole = feed(LIMITS, input, new int[] {input.length});
            assertThat(whole).hasSize(8);
            assertThat(feed(LIMITS, input, new int[] {1})).isEqualTo(whole);
            for (int split = 1; split < input.length; split++) {
                assertThat(feed(LIMITS, input, new int[] {split, input.length})).isEqualTo(whole);
            }
        }

        @Test
        void largeBodyIsStreamedWithoutBuffering() {
            int size = 1 << 20;
            byte[] body = new byte[size];
            new Random(42).nextBytes(body);
            try (Harness h = new Harness(LIMITS)) {
                assertThat(h.write("PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: " + size + "\r\n\r\n"))
                        .containsExactly(head("PUT", "/big", "HTTP/1.1", "Host", "a", "Content-Length", "" + size));
                ByteArrayOutputStream received = new ByteArrayOutputStream();
                int off = 0;
                int piece = 8191;
                while (off < size) {
                    int len = Math.min(piece, size - off);
                    List<Ev> got = h.write(body, off, len);
                    off += len;
                    // every byte is emitted as soon as it arrives
                    for (Ev e : got) {
                        if (e instanceof Body b) {
                            received.writeBytes(bytes(b.bytes()));
                        }
                    }
                    assertThat(received.size()).isEqualTo(off);
                    assertThat(got.getLast() instanceof End).isEqualTo(off == size);
                    assertThat(h.decoder.isMidRequest()).isEqualTo(off < size);
                    // the handler released what it read: nothing is retained by the decoder
                    assertThat(h.alloc.live()).isZero();
                }
                assertThat(received.toByteArray()).isEqualTo(body);
            }
        }

        @Test
        void chunkedBodyIsStreamedBeforeTheChunkIsComplete() {
            try (Harness h = new Harness(LIMITS)) {
                h.write(chunked("100\r\nabc"));
                assertThat(merge(h.events)).containsExactly(CHUNKED_HEAD, new Body("abc"));
                assertThat(h.write("def")).containsExactly(new Body("def"));
                assertThat(h.alloc.live()).isZero();
            }
        }

        @Test
        void contentSlicesAreRetainedIndependently() {
            try (Harness h = new Harness(LIMITS)) {
                h.ch.writeInbound(h.alloc.buffer().writeBytes(bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabc")));
                h.ch.writeInbound(h.alloc.buffer().writeBytes(bytes("def")));
                HttpRequest req = h.ch.readInbound();
                HttpContent c1 = h.ch.readInbound();
                HttpContent c2 = h.ch.readInbound();
                LastHttpContent last = h.ch.readInbound();
                assertThat(req.uri()).isEqualTo("/");
                assertThat(last).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
                // hold c1 while c2 is released: c1 stays readable
                assertThat(c2.release()).isTrue();
                assertThat(c1.content().toString(StandardCharsets.US_ASCII)).isEqualTo("abc");
                assertThat(c1.release()).isTrue();
                assertThat(c1.refCnt()).isZero();
            }
        }

        @Test
        void listenerAndMidRequestTracking() {
            try (Harness h = new Harness(LIMITS)) {
                assertThat(h.decoder.isMidRequest()).isFalse();
                h.write("\r\n");
                assertThat(h.headStarts).isZero();
                assertThat(h.decoder.isMidRequest()).isFalse();
                h.write("G");
                assertThat(h.headStarts).isEqualTo(1);
                assertThat(h.decoder.isMidRequest()).isTrue();
                h.write("ET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n");
                assertThat(h.headStarts).isEqualTo(1);
                assertThat(h.decoder.isMidRequest()).isTrue();
                h.write("x");
                assertThat(h.decoder.isMidRequest()).isTrue();
                h.write("y");
                assertThat(h.decoder.isMidRequest()).isFalse();
                h.write("GET / HTTP/1.1\r\n");
                assertThat(h.headStarts).isEqualTo(2);
                assertThat(h.decoder.isMidRequest()).isTrue();
            }
        }

        @Test
        void listenerIsCalledAfterPreviousRequestWasFired() {
            StrictHttp1RequestDecoder decoder = new StrictHttp1RequestDecoder(LIMITS);
            EmbeddedChannel ch = new EmbeddedChannel(decoder);
            List<String> log = new ArrayList<>();
            decoder.setListener(() -> log.add("start mid=" + decoder.isMidRequest()));
            ch.pipeline().addLast(new io.netty.channel.ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
                    String kind = msg instanceof LastHttpContent ? "Last" : msg instanceof HttpRequest ? "Request" : "?";
                    log.add(kind + " mid=" + decoder.isMidRequest());
                    io.netty.util.ReferenceCountUtil.release(msg);
                }
            });
            ch.writeInbound(ch.alloc().buffer().writeBytes(bytes(get("/1") + get("/2"))));
            // messages of a request are fired before the next request head is even looked at
            assertThat(log).containsExactly("start mid=true", "Request mid=false", "Last mid=false",
                    "start mid=true", "Request mid=false", "Last mid=false");
            assertThat(ch.finishAndReleaseAll()).isFalse();
        }

        @Test
        void truncatedRequestAtCloseEmitsNothingAndLeaksNothing() {
            try (Harness h = new Harness(LIMITS)) {
                h.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Len");
                assertThat(h.decoder.isMidRequest()).isTrue();
            }
        }

        @Test
        void limitsAreValidated() {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Http1Limits(0, 1, 1))
                    .isInstanceOf(IllegalArgumentException.class);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Http1Limits(1, 0, 1))
                    .isInstanceOf(IllegalArgumentException.class);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Http1Limits(1, 1, 0))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
