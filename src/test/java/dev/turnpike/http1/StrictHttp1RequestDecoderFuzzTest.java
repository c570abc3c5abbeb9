package dev.turnpike.http1;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.turnpike.http1.StrictHttp1RequestDecoderTest.Body;
import dev.turnpike.http1.StrictHttp1RequestDecoderTest.End;
import dev.turnpike.http1.StrictHttp1RequestDecoderTest.Err;
import dev.turnpike.http1.StrictHttp1RequestDecoderTest.Ev;
import dev.turnpike.http1.StrictHttp1RequestDecoderTest.Harness;
import dev.turnpike.http1.StrictHttp1RequestDecoderTest.Head;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static dev.turnpike.http1.StrictHttp1RequestDecoderTest.checkGrammar;
import static dev.turnpike.http1.StrictHttp1RequestDecoderTest.merge;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Property tests for {@link StrictHttp1RequestDecoder}.
 *
 * <p>The {@code @FuzzTest} methods run as regression tests over their seeds (just the empty input
 * when no seed corpus exists) unless {@code JAZZER_FUZZ=1} is set. The {@code @Test} methods run the
 * same properties over a fixed, deterministic set of pseudo-random inputs so that CI exercises them
 * without a corpus.
 */
class StrictHttp1RequestDecoderFuzzTest {

    private static final Set<Integer> ERROR_STATUSES = Set.of(400, 414, 431, 501, 505);
    private static final String TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private static final byte[] VALID_FOLLOW_UP = "GET / HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

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
    // Fuzz entry points
    // =============================================================================================

    @FuzzTest(maxDuration = "5m")
    void arbitraryInput(FuzzedDataProvider data) {
        Http1Limits limits = new Http1Limits(data.consumeInt(1, 300), data.consumeInt(1, 600), data.consumeInt(1, 20));
        long splitSeed = data.consumeLong();
        checkArbitrary(limits, data.consumeRemainingAsBytes(), splitSeed);
    }

    @FuzzTest(maxDuration = "5m")
    void validRequestsRoundTrip(FuzzedDataProvider data) {
        roundTrip(new FdpSource(data));
    }

    // =============================================================================================
    // Deterministic randomised runs of the same properties (what CI exercises)
    // =============================================================================================

    /**
     * A connection's requests each decode as they would on a connection of their own, however much of the request
     * before them they repeat (the decoder reuses the fields a request repeats from the previous one).
     */
    @Test
    void aRequestDecodesTheSameWhateverCameBeforeItOnTheConnection() {
        Random rnd = new Random(0x5eed_7);
        Http1Limits limits = StrictHttp1RequestDecoderTest.LIMITS;
        for (int round = 0; round < 400; round++) {
            ByteArrayOutputStream wire = new ByteArrayOutputStream();
            List<Ev> expected = new ArrayList<>();
            for (List<String[]> fields : FieldSequences.sequence(rnd, 8)) {
                String host = rnd.nextInt(3) == 0 ? "b.example" : "a.example";
                String target = rnd.nextInt(3) == 0 ? "/y" : rnd.nextInt(4) == 0 ? "/x?q" : "/x";
                byte[] one = ("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + FieldSequences.lines(fields, rnd) + "\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1);
                expected.addAll(StrictHttp1RequestDecoderTest.feed(limits, one, new int[] {one.length}));
                wire.writeBytes(one);
            }
            assertThat(expected).noneMatch(e -> e instanceof Err);
            byte[] all = wire.toByteArray();
            assertThat(StrictHttp1RequestDecoderTest.feed(limits, all, new int[] {all.length})).isEqualTo(expected);
            assertThat(StrictHttp1RequestDecoderTest.feed(limits, all, new int[] {1 + rnd.nextInt(64)}))
                    .isEqualTo(expected);
        }
    }

    @Test
    void arbitraryInputRandomised() {
        Random rnd = new Random(0x5eed_1);
        for (int i = 0; i < 3000; i++) {
            Http1Limits limits = rnd.nextInt(4) == 0
                    ? new Http1Limits(1 + rnd.nextInt(120), 1 + rnd.nextInt(300), 1 + rnd.nextInt(8))
                    : StrictHttp1RequestDecoderTest.LIMITS;
            byte[] input;
            if (rnd.nextInt(10) == 0) {
                input = new byte[rnd.nextInt(200)];
                rnd.nextBytes(input);
            } else {
                ByteArrayOutputStream wire = new ByteArrayOutputStream();
                RandomSource src = new RandomSource(rnd.nextLong());
                int n = 1 + rnd.nextInt(2);
                for (int r = 0; r < n; r++) {
                    generateRequest(src, wire);
                }
                input = mutate(wire.toByteArray(), rnd);
            }
            checkArbitrary(limits, input, rnd.nextLong());
        }
    }

    @Test
    void validRequestsRoundTripRandomised() {
        Random rnd = new Random(0x5eed_2);
        for (int i = 0; i < 1500; i++) {
            roundTrip(new RandomSource(rnd.nextLong()));
        }
    }

    // =============================================================================================
    // Property 1: arbitrary input
    // =============================================================================================

    /**
     * For any input: no exception escapes the pipeline, nothing leaks, the output is a sequence of
     * well-formed messages optionally followed by exactly one error after which nothing else is
     * emitted, and the output does not depend on how the input is split.
     */
    static void checkArbitrary(Http1Limits limits, byte[] input, long splitSeed) {
        List<Ev> whole;
        try (Harness h = new Harness(limits)) {
            if (input.length > 0) {
                h.write(input);
            }
            checkMessages(h.events);
            if (!h.events.isEmpty() && h.events.getLast() instanceof Err) {
                assertThat(h.write(VALID_FOLLOW_UP)).as("output after an error").isEmpty();
                assertThat(h.decoder.isMidRequest()).isFalse();
            }
            whole = merge(h.events);
        }

        Random rnd = new Random(splitSeed);
        int[] splits = new int[1 + rnd.nextInt(16)];
        for (int i = 0; i < splits.length; i++) {
            splits[i] = 1 + rnd.nextInt(rnd.nextBoolean() ? 4 : 200);
        }
        assertThat(StrictHttp1RequestDecoderTest.feed(limits, input, splits)).as("random splits").isEqualTo(whole);
        if (input.length <= 4096) {
            assertThat(StrictHttp1RequestDecoderTest.feed(limits, input, new int[] {1})).as("byte by byte").isEqualTo(whole);
        }
    }

    private static void checkMessages(List<Ev> evs) {
        checkGrammar(evs);
        int errors = 0;
        for (Ev e : evs) {
            switch (e) {
                case Err err -> {
                    errors++;
                    assertThat(ERROR_STATUSES).contains(err.status());
                }
                case Head head -> {
                    assertThat(head.method()).isNotEmpty().matches(StrictHttp1RequestDecoderFuzzTest::isToken);
                    assertThat(head.uri()).isNotEmpty();
                    for (char c : head.uri().toCharArray()) {
                        assertThat(c > 0x20 && c < 0x7f && c != '#').as("target char %s", (int) c).isTrue();
                    }
                    assertThat(head.version()).isIn("HTTP/1.0", "HTTP/1.1");
                    checkFields(head.headers());
                    long hosts = head.headers().stream().filter(f -> f.getKey().equalsIgnoreCase("host")).count();
                    assertThat(hosts).isLessThanOrEqualTo(1);
                    if (head.version().equals("HTTP/1.1")) {
                        assertThat(hosts).isEqualTo(1);
                    }
                    long cl = head.headers().stream().filter(f -> f.getKey().equalsIgnoreCase("content-length")).count();
                    long te = head.headers().stream().filter(f -> f.getKey().equalsIgnoreCase("transfer-encoding")).count();
                    assertThat(cl).isLessThanOrEqualTo(1);
                    assertThat(cl * te).isZero();
                }
                case End end -> checkFields(end.trailers());
                case Body body -> assertThat(body.bytes()).isNotEmpty();
            }
        }
        assertThat(errors).isLessThanOrEqualTo(1);
    }

    private static void checkFields(List<Map.Entry<String, String>> fields) {
        for (Map.Entry<String, String> f : fields) {
            assertThat(isToken(f.getKey())).as("field name %s", f.getKey()).isTrue();
            String v = f.getValue();
            if (!v.isEmpty()) {
                assertThat(v.charAt(0)).isNotIn(' ', '\t');
                assertThat(v.charAt(v.length() - 1)).isNotIn(' ', '\t');
            }
            for (char c : v.toCharArray()) {
                assertThat(c == '\t' || (c >= 0x20 && c != 0x7f && c <= 0xff)).as("value char %s", (int) c).isTrue();
            }
        }
    }

    private static boolean isToken(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (char c : s.toCharArray()) {
            if (TCHARS.indexOf(c) < 0) {
                return false;
            }
        }
        return true;
    }

    private static final byte[] INTERESTING = {'\r', '\n', ' ', '\t', ':', ',', ';', '=', '"', '\\', '0', 'f', 'a', '/',
            '*', '[', ']', '@', '#', 0, 0x7f, (byte) 0x80, (byte) 0xff};

    private static byte[] mutate(byte[] in, Random rnd) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] cur = in;
        int mutations = rnd.nextInt(4); // 0: keep the valid input as is
        for (int m = 0; m < mutations && cur.length > 0; m++) {
            int pos = rnd.nextInt(cur.length);
            byte b = rnd.nextInt(4) == 0 ? (byte) rnd.nextInt(256) : INTERESTING[rnd.nextInt(INTERESTING.length)];
            out.reset();
            switch (rnd.nextInt(6)) {
                case 0 -> { // replace
                    out.write(cur, 0, cur.length);
                    byte[] t = out.toByteArray();
                    t[pos] = b;
                    cur = t;
                    continue;
                }
                case 1 -> { // insert
                    out.write(cur, 0, pos);
                    out.write(b);
                    out.write(cur, pos, cur.length - pos);
                }
                case 2 -> { // delete
                    out.write(cur, 0, pos);
                    out.write(cur, pos + 1, cur.length - pos - 1);
                }
                case 3 -> { // duplicate a range
                    int len = Math.min(cur.length - pos, 1 + rnd.nextInt(40));
                    out.write(cur, 0, pos + len);
                    out.write(cur, pos, cur.length - pos);
                }
                case 4 -> out.write(cur, 0, pos); // truncate
                default -> { // insert CRLF / LF / CR
                    out.write(cur, 0, pos);
                    out.writeBytes(switch (rnd.nextInt(3)) {
                        case 0 -> new byte[] {'\r', '\n'};
                        case 1 -> new byte[] {'\n'};
                        default -> new byte[] {'\r'};
                    });
                    out.write(cur, pos, cur.length - pos);
                }
            }
            cur = out.toByteArray();
        }
        return cur;
    }

    // =============================================================================================
    // Property 2: valid requests round-trip
    // =============================================================================================

    /** Source of choices: backed by Jazzer's FuzzedDataProvider or by java.util.Random. */
    interface Source {
        /** Inclusive range. */
        int pick(int lo, int hi);

        default boolean chance() {
            return pick(0, 1) == 1;
        }

        default <T> T oneOf(List<T> l) {
            return l.get(pick(0, l.size() - 1));
        }
    }

    record FdpSource(FuzzedDataProvider data) implements Source {
        @Override
        public int pick(int lo, int hi) {
            return data.consumeInt(lo, hi);
        }
    }

    static final class RandomSource implements Source {
        private final Random rnd;

        RandomSource(long seed) {
            rnd = new Random(seed);
        }

        @Override
        public int pick(int lo, int hi) {
            return lo + rnd.nextInt(hi - lo + 1);
        }
    }

    /**
     * Serialises 1..3 random valid requests (with random but valid syntax variations), feeds them
     * whole, byte by byte and in random pieces, and checks the decoded parts equal the generated ones.
     */
    static void roundTrip(Source src) {
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        List<Ev> expected = new ArrayList<>();
        int n = src.pick(1, 3);
        for (int i = 0; i < n; i++) {
            expected.addAll(generateRequest(src, wire));
        }
        int[] splits = new int[src.pick(1, 8)];
        for (int i = 0; i < splits.length; i++) {
            splits[i] = src.pick(1, 97);
        }
        byte[] input = wire.toByteArray();
        Http1Limits limits = StrictHttp1RequestDecoderTest.LIMITS;
        assertThat(StrictHttp1RequestDecoderTest.feed(limits, input, new int[] {input.length})).isEqualTo(expected);
        assertThat(StrictHttp1RequestDecoderTest.feed(limits, input, splits)).isEqualTo(expected);
        assertThat(StrictHttp1RequestDecoderTest.feed(limits, input, new int[] {1})).isEqualTo(expected);
    }

    private static final List<String> METHODS = List.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
            "TRACE");
    private static final Set<String> FRAMING = Set.of("host", "content-length", "transfer-encoding");

    /** Appends one valid request to {@code wire} and returns the events the decoder must produce for it. */
    static List<Ev> generateRequest(Source s, ByteArrayOutputStream wire) {
        StringBuilder out = new StringBuilder();
        out.append("\r\n".repeat(s.pick(0, 4)));
        boolean http11 = !s.chance();
        String version = http11 ? "HTTP/1.1" : "HTTP/1.0";

        String method;
        String target;
        switch (s.pick(0, 5)) {
            case 0 -> {
                method = "OPTIONS";
                target = "*";
            }
            case 1 -> {
                method = "CONNECT";
                target = host(s, false) + ":" + digits(s, 1, 5);
            }
            case 2 -> {
                method = s.chance() ? token(s, 1, 10) : s.oneOf(METHODS);
                if (method.equals("CONNECT")) {
                    method = "GET";
                }
                target = s.oneOf(List.of("http", "https", "HTTP", "hTtPs")) + "://" + host(s, false)
                        + (s.chance() ? ":" + digits(s, 1, 5) : "") + s.oneOf(List.of("", "/", "?q", "/p/a?t=h"));
            }
            default -> {
                method = s.chance() ? token(s, 1, 10) : s.oneOf(METHODS);
                if (method.equals("CONNECT")) {
                    method = "GET";
                }
                target = "/" + chars(s, 0, 30, i -> i > 0x20 && i < 0x7f && i != '#');
            }
        }
        out.append(method).append(' ').append(target).append(' ').append(version).append("\r\n");

        List<Map.Entry<String, String>> fields = new ArrayList<>();
        int extra = s.pick(0, 6);
        for (int i = 0; i < extra; i++) {
            fields.add(Map.entry(fieldName(s), fieldValue(s)));
        }
        if (http11 || s.chance()) {
            fields.add(s.pick(0, fields.size()), Map.entry(randomCase(s, "host"), s.chance() ? "" : host(s, true)));
        }
        byte[] body = new byte[0];
        List<Integer> chunkSizes = new ArrayList<>();
        int framing = s.pick(0, http11 ? 2 : 1); // 0 none, 1 Content-Length, 2 chunked
        if (framing == 1) {
            body = bytes(s, 0, 300);
            fields.add(s.pick(0, fields.size()),
                    Map.entry(randomCase(s, "content-length"), "0".repeat(s.pick(0, 2)) + body.length));
        } else if (framing == 2) {
            body = bytes(s, 0, 300);
            for (int left = body.length; left > 0; ) {
                int c = Math.min(left, s.pick(1, 120));
                chunkSizes.add(c);
                left -= c;
            }
            fields.add(s.pick(0, fields.size()), Map.entry(randomCase(s, "transfer-encoding"), randomCase(s, "chunked")));
        }
        for (Map.Entry<String, String> f : fields) {
            appendField(s, out, f);
        }
        out.append("\r\n");

        List<Map.Entry<String, String>> trailers = new ArrayList<>();
        ByteArrayOutputStream bodyWire = new ByteArrayOutputStream();
        if (framing == 1) {
            bodyWire.writeBytes(body);
        } else if (framing == 2) {
            int off = 0;
            for (int size : chunkSizes) {
                String hex = "0".repeat(s.pick(0, 3)) + Integer.toHexString(size);
                bodyWire.writeBytes(latin1((s.chance() ? hex.toUpperCase(Locale.ROOT) : hex) + chunkExt(s) + "\r\n"));
                bodyWire.write(body, off, size);
                bodyWire.writeBytes(latin1("\r\n"));
                off += size;
            }
            StringBuilder last = new StringBuilder("0".repeat(s.pick(1, 3))).append(chunkExt(s)).append("\r\n");
            int t = s.pick(0, 3);
            for (int i = 0; i < t; i++) {
                Map.Entry<String, String> f = Map.entry(fieldName(s), fieldValue(s));
                trailers.add(f);
                appendField(s, last, f);
            }
            last.append("\r\n");
            bodyWire.writeBytes(latin1(last.toString()));
        }
        wire.writeBytes(latin1(out.toString()));
        wire.writeBytes(bodyWire.toByteArray());

        List<Ev> expected = new ArrayList<>();
        expected.add(new Head(method, target, version, List.copyOf(fields)));
        if (body.length > 0) {
            expected.add(new Body(new String(body, StandardCharsets.ISO_8859_1)));
        }
        expected.add(new End(List.copyOf(trailers)));
        return expected;
    }

    private static void appendField(Source s, StringBuilder out, Map.Entry<String, String> f) {
        out.append(f.getKey()).append(':').append(ows(s)).append(f.getValue()).append(ows(s)).append("\r\n");
    }

    private static String ows(Source s) {
        return s.oneOf(List.of("", "", " ", "\t", "  ", " \t"));
    }

    private static String fieldName(Source s) {
        String name = token(s, 1, 12);
        return FRAMING.contains(name.toLowerCase(Locale.ROOT)) ? "X-" + name : name;
    }

    /** VCHAR / SP / HTAB / obs-text, without leading or trailing whitespace. */
    private static String fieldValue(Source s) {
        String v = chars(s, 0, 30, i -> i == '\t' || (i >= 0x20 && i != 0x7f && i <= 0xff));
        return v.replaceAll("^[ \t]+|[ \t]+$", "");
    }

    private static String host(Source s, boolean allowPort) {
        String h = switch (s.pick(0, 4)) {
            case 0 -> s.pick(0, 255) + "." + s.pick(0, 255) + "." + s.pick(0, 255) + "." + s.pick(0, 255);
            case 1 -> s.oneOf(List.of("[::1]", "[2001:db8::7]", "[::ffff:10.0.0.1]", "[1:2:3:4:5:6:7:8]", "[fe80::]",
                    "[v7.x:y]"));
            default -> {
                String reg = chars(s, 1, 20, i -> (i >= 'a' && i <= 'z') || (i >= '0' && i <= '9')
                        || "-._~!$&'()*+,;=".indexOf(i) >= 0);
                yield s.chance() ? reg : reg + "%4" + Integer.toHexString(s.pick(0, 15)).toUpperCase(Locale.ROOT);
            }
        };
        return allowPort && s.chance() ? h + ":" + digits(s, 1, 5) : h;
    }

    private static String chunkExt(Source s) {
        StringBuilder sb = new StringBuilder();
        int n = s.pick(0, 2);
        for (int i = 0; i < n; i++) {
            sb.append(s.oneOf(List.of("", " ", "\t "))).append(';').append(s.oneOf(List.of("", " "))).append(token(s, 1, 6));
            switch (s.pick(0, 2)) {
                case 0 -> { }
                case 1 -> sb.append(s.oneOf(List.of("", " "))).append('=').append(s.oneOf(List.of("", "\t")))
                        .append(token(s, 1, 6));
                default -> {
                    sb.append('=').append('"');
                    int len = s.pick(0, 8);
                    for (int k = 0; k < len; k++) {
                        int c = s.pick(0x20, 0x7e);
                        if (c == '"' || c == '\\') {
                            sb.append('\\');
                        }
                        sb.append((char) c);
                    }
                    sb.append('"');
                }
            }
        }
        return sb.toString();
    }

    private static String randomCase(Source s, String lower) {
        StringBuilder sb = new StringBuilder(lower.length());
        for (char c : lower.toCharArray()) {
            sb.append(s.chance() ? Character.toUpperCase(c) : c);
        }
        return sb.toString();
    }

    private static String token(Source s, int min, int max) {
        int len = s.pick(min, max);
        StringBuilder sb = new StringBuilder(len);
        for (int i = 0; i < len; i++) {
            sb.append(TCHARS.charAt(s.pick(0, TCHARS.length() - 1)));
        }
        return sb.toString();
    }

    private static String digits(Source s, int min, int max) {
        int len = s.pick(min, max);
        StringBuilder sb = new StringBuilder(len);
        for (int i = 0; i < len; i++) {
            sb.append((char) ('0' + s.pick(0, 9)));
        }
        return sb.toString();
    }

    private static String chars(Source s, int min, int max, java.util.function.IntPredicate allowed) {
        StringBuilder alphabet = new StringBuilder();
        for (int c = 0; c < 256; c++) {
            if (allowed.test(c)) {
                alphabet.append((char) c);
            }
        }
        int len = s.pick(min, max);
        StringBuilder sb = new StringBuilder(len);
        for (int i = 0; i < len; i++) {
            sb.append(alphabet.charAt(s.pick(0, alphabet.length() - 1)));
        }
        return sb.toString();
    }

    private static byte[] bytes(Source s, int min, int max) {
        byte[] b = new byte[s.pick(min, max)];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) s.pick(0, 255);
        }
        return b;
    }

    private static byte[] latin1(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
