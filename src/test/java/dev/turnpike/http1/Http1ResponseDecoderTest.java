package dev.turnpike.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class Http1ResponseDecoderTest {

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

    /**
     * Decodes {@code wire} fed in pieces of the given sizes (cycled), then closes the channel when asked; returns the
     * output as text: "HEAD 200 OK|name=value|..." per head, "BODY bytes" merged per run of parts, "END|trailers"
     * per last content, "FAIL reason" for a failed result.
     */
    private static List<String> decode(String wire, boolean head, boolean close, int... pieces) {
        return decode(new Http1ResponseDecoder(100, 200, 1 << 20, () -> head), wire, close, pieces);
    }

    private static List<String> decode(Http1ResponseDecoder decoder, String wire, boolean close, int... pieces) {
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        byte[] bytes = wire.getBytes(StandardCharsets.ISO_8859_1);
        int p = 0;
        int k = 0;
        while (p < bytes.length) {
            int n = pieces.length == 0 ? bytes.length : Math.min(pieces[k++ % pieces.length], bytes.length - p);
            ch.writeInbound(Unpooled.copiedBuffer(bytes, p, n));
            p += n;
        }
        if (close) {
            ch.close();
        }
        List<String> out = new ArrayList<>();
        StringBuilder body = null;
        Object m;
        while ((m = ch.readInbound()) != null) {
            HttpObject o = (HttpObject) m;
            if (o.decoderResult().isFailure()) {
                if (body != null) {
                    out.add("BODY " + body);
                    body = null;
                }
                out.add("FAIL " + o.decoderResult().cause().getMessage());
                ((LastHttpContent) o).release();
                continue;
            }
            if (o instanceof HttpResponse r) {
                StringBuilder s = new StringBuilder("HEAD " + r.protocolVersion() + " " + r.status().code() + " "
                        + r.status().reasonPhrase());
                r.headers().forEach(e -> s.append('|').append(e.getKey()).append('=').append(e.getValue()));
                out.add(s.toString());
            }
            if (o instanceof HttpContent c) {
                ByteBuf b = c.content();
                if (b.isReadable()) {
                    if (body == null) {
                        body = new StringBuilder();
                    }
                    body.append(b.toString(StandardCharsets.ISO_8859_1));
                }
                if (c instanceof LastHttpContent last) {
                    if (body != null) {
                        out.add("BODY " + body);
                        body = null;
                    }
                    StringBuilder s = new StringBuilder("END");
                    last.trailingHeaders().forEach(e -> s.append('|').append(e.getKey()).append('=').append(e.getValue()));
                    out.add(s.toString());
                }
                c.release();
            }
        }
        if (body != null) {
            out.add("BODY " + body);
        }
        ch.finishAndReleaseAll();
        return out;
    }

    private static List<String> decode(String wire) {
        return decode(wire, false, false);
    }

    @Test
    void aResponseWithContentLengthIsOneHeadAndALastContentWithTheBody() {
        assertThat(decode("HTTP/1.1 200 OK\r\nServer: up\r\nContent-Length: 5\r\n\r\nhello"))
                .containsExactly("HEAD HTTP/1.1 200 OK|Server=up|Content-Length=5", "BODY hello", "END");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 7, 13})
    void theOutputDoesNotDependOnHowTheBytesAreSplit(int piece) {
        String wire = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
                + "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=\"y\"\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n";
        List<String> whole = decode(wire);
        assertThat(whole).containsExactly("HEAD HTTP/1.1 200 OK|Content-Length=5", "BODY hello", "END",
                "HEAD HTTP/1.1 201 Created|Transfer-Encoding=chunked", "BODY abcde", "END|T=v");
        assertThat(decode(wire, false, false, piece)).isEqualTo(whole);
        Random random = new Random(piece);
        int[] sizes = random.ints(64, 1, 20).toArray();
        assertThat(decode(wire, false, false, sizes)).isEqualTo(whole);
    }

    @Test
    void responsesToHeadAnd204And304HaveNoBodyWhateverTheirFramingSays() {
        assertThat(decode("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true, false))
                .containsExactly("HEAD HTTP/1.1 200 OK|Content-Length=10", "END");
        assertThat(decode("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nHTTP/1.1 304 Not Modified\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n"))
                .containsExactly("HEAD HTTP/1.1 204 No Content|Content-Length=3", "END",
                        "HEAD HTTP/1.1 304 Not Modified|Transfer-Encoding=chunked", "END");
    }

    @Test
    void anInterimResponseIsAHeadOfItsOwnBeforeTheFinalOne() {
        List<Boolean> asked = new ArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(new Http1ResponseDecoder(100, 200, 1024, () -> {
            asked.add(true);
            return false;
        }));
        ch.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", StandardCharsets.US_ASCII));
        assertThat(asked).as("only the final response answers the request").hasSize(1);
        ch.finishAndReleaseAll();
        assertThat(decode("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
                .containsExactly("HEAD HTTP/1.1 100 Continue", "END", "HEAD HTTP/1.1 200 OK|Content-Length=2",
                        "BODY ok", "END");
    }

    @Test
    void afterA101TheBytesStayUndecodedForTheNextProtocol() {
        EmbeddedChannel ch = new EmbeddedChannel(new Http1ResponseDecoder(100, 200, 1024, () -> false));
        ch.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\u0081\u0002hi",
                StandardCharsets.ISO_8859_1));
        HttpResponse head = ch.readInbound();
        assertThat(head.status().code()).isEqualTo(101);
        assertThat((Object) ch.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
        assertThat((Object) ch.readInbound()).isNull();
        ch.pipeline().removeFirst(); // the decoder hands what it holds to the next handler
        ByteBuf rest = ch.readInbound();
        assertThat(rest.toString(StandardCharsets.ISO_8859_1)).isEqualTo("\u0081\u0002hi");
        rest.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void aBodyWithoutFramingRunsToTheCloseAndOneCutShortFails() {
        assertThat(decode("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", false, true, 4))
                .containsExactly("HEAD HTTP/1.0 200 OK|Content-Type=text/plain", "BODY until the end", "END");
        assertThat(decode("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", false, true))
                .containsExactly("HEAD HTTP/1.1 200 OK|Content-Length=10", "BODY short",
                        "FAIL the connection closed before the body ended");
        assertThat(decode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", false, true))
                .containsExactly("HEAD HTTP/1.1 200 OK|Transfer-Encoding=chunked", "BODY ab",
                        "FAIL the connection closed before the body ended");
        assertThat(decode("HTTP/1.1 200 OK\r\nContent-Le", false, true)).as("a head cut short: the close says it")
                .isEmpty();
    }

    @Test
    void lenienciesPeersShareAreAccepted() {
        assertThat(decode("HTTP/1.1 200 OK\nA: b\nContent-Length: 1\n\nx"))
                .as("lines ended by LF alone").containsExactly("HEAD HTTP/1.1 200 OK|A=b|Content-Length=1", "BODY x", "END");
        assertThat(decode("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"))
                .as("no reason phrase, or an empty one")
                .containsExactly("HEAD HTTP/1.1 404 Not Found|Content-Length=0", "END",
                        "HEAD HTTP/1.1 200 OK|Content-Length=0", "END");
        assertThat(decode("HTTP/1.1 200 Fine By Me\r\nX-Name \t: v \r\nContent-Length: 0\r\n\r\n"))
                .as("the upstream's reason phrase is kept; whitespace before a colon is removed")
                .containsExactly("HEAD HTTP/1.1 200 Fine By Me|X-Name=v|Content-Length=0", "END");
        assertThat(decode("HTTP/1.1 200 OK\r\nV: caf\u00e9\r\nContent-Length: 0\r\n\r\n"))
                .as("obs-text in a value").containsExactly("HEAD HTTP/1.1 200 OK|V=caf\u00e9|Content-Length=0", "END");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "SPDY/9 banana\r\n\r\n",
            "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 20 OK\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/1.1 099 Low\r\n\r\n",
            "HTTP/1.1 600 High\r\n\r\n",
            "HTTP/1.1 200 O\u0000K\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
            "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nA: b\rc\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
            "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
            "HTTP/1.1 200 OK\r\nBad[name]: v\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n",
    })
    void aResponseThatMustNotBeForwardedFailsAndNothingAfterItIsDecoded(String wire) {
        List<String> out = decode(wire + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assertThat(out).isNotEmpty();
        assertThat(out.getLast()).startsWith("FAIL invalid response from the upstream");
        assertThat(out.stream().filter(s -> s.startsWith("HEAD")).count()).isLessThanOrEqualTo(1);
    }

    @Test
    void limitsBoundTheStatusLineAndTheFieldSection() {
        assertThat(decode("HTTP/1.1 200 " + "x".repeat(100) + "\r\n\r\n"))
                .containsExactly("FAIL invalid response from the upstream: status line too long");
        assertThat(decode("HTTP/1.1 200 " + "x".repeat(200), false, false, 10))
                .as("without waiting for the line's end").containsExactly(
                        "FAIL invalid response from the upstream: status line too long");
        assertThat(decode("HTTP/1.1 200 OK\r\nA: " + "x".repeat(100) + "\r\nB: " + "y".repeat(100) + "\r\n\r\n"))
                .containsExactly("FAIL invalid response from the upstream: field section too large");
    }

    @Test
    void noBodyPartIsLargerThanTheConfiguredPiece() {
        EmbeddedChannel ch = new EmbeddedChannel(new Http1ResponseDecoder(100, 200, 4, () -> false));
        ch.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
                StandardCharsets.US_ASCII));
        ((HttpResponse) ch.readInbound()).headers();
        List<Integer> sizes = new ArrayList<>();
        Object m;
        while ((m = ch.readInbound()) != null) {
            HttpContent c = (HttpContent) m;
            sizes.add(c.content().readableBytes());
            assertThat(c instanceof LastHttpContent).isEqualTo(sizes.stream().mapToInt(Integer::intValue).sum() == 10);
            c.release();
        }
        assertThat(sizes).containsExactly(4, 4, 2);
        ch.finishAndReleaseAll();
    }

    /**
     * The responses on an upstream connection each decode as they would on a connection of their own, however much of
     * the response before them they repeat (the decoder reuses the fields a response repeats from the previous one).
     */
    @Test
    void aResponseDecodesTheSameWhateverCameBeforeItOnTheConnection() {
        Random rnd = new Random(0x5eed_8);
        for (int round = 0; round < 400; round++) {
            StringBuilder wire = new StringBuilder();
            List<String> expected = new ArrayList<>();
            for (List<String[]> fields : FieldSequences.sequence(rnd, 8)) {
                String one = "HTTP/1.1 200 OK\r\n" + FieldSequences.lines(fields, rnd) + "Content-Length: 1\r\n\r\nx";
                expected.addAll(decode(new Http1ResponseDecoder(100, 16384, 1 << 20, () -> false), one, false));
                wire.append(one);
            }
            assertThat(expected).noneMatch(e -> e.startsWith("FAIL"));
            assertThat(decode(new Http1ResponseDecoder(100, 16384, 1 << 20, () -> false), wire.toString(), false))
                    .isEqualTo(expected);
            assertThat(decode(new Http1ResponseDecoder(100, 16384, 1 << 20, () -> false), wire.toString(), false,
                    1 + rnd.nextInt(64))).isEqualTo(expected);
        }
    }
}
