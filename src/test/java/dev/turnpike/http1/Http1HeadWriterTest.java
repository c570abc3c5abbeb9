package dev.turnpike.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class Http1HeadWriterTest {

    private static String written(ByteBuf buf) {
        try {
            return buf.toString(StandardCharsets.ISO_8859_1);
        } finally {
            buf.release();
        }
    }

    @Test
    void fieldLinesKeepOrderAndLatin1BytesAndMarkWiderCharacters() {
        HttpHeaders h = new DefaultHttpHeaders().add("Content-Type", "text/plain").add("X-Note", "caf\u00e9 5 \u20ac");
        ByteBuf buf = Unpooled.buffer();
        Http1HeadWriter.writeFields(h, buf);
        assertThat(written(buf)).isEqualTo("Content-Type: text/plain\r\nX-Note: caf\u00e9 5 ?\r\n");
    }

    @Test
    void aHeadLargerThanTheScratchArrayIsWrittenWhole() {
        String big = "v".repeat(70 * 1024);
        HttpHeaders h = new DefaultHttpHeaders().add("X-Big", big).add("X-After", "1");
        ByteBuf buf = Unpooled.buffer();
        Http1HeadWriter.writeFields(h, buf);
        assertThat(written(buf)).isEqualTo("X-Big: " + big + "\r\nX-After: 1\r\n");
        // the thread's scratch array still serves the next, small head
        ByteBuf small = Unpooled.buffer();
        Http1HeadWriter.writeFields(new DefaultHttpHeaders().add("A", "b"), small);
        assertThat(written(small)).isEqualTo("A: b\r\n");
    }

    @Test
    void fieldsWrittenBeforeTheScratchArrayGrowsAreKept() {
        HttpHeaders h = new DefaultHttpHeaders();
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            String v = Integer.toString(i).repeat(150);
            h.add("X-" + i, v);
            expected.append("X-").append(i).append(": ").append(v).append("\r\n");
        }
        ByteBuf buf = Unpooled.buffer();
        Http1HeadWriter.writeFields(h, buf);
        assertThat(written(buf)).isEqualTo(expected.toString());
    }

    @Test
    void requestLineInOriginForm() {
        ByteBuf buf = Unpooled.buffer();
        assertThat(Http1HeadWriter.writeRequestLine(
                new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/a/b?q=1"), buf)).isTrue();
        assertThat(written(buf)).isEqualTo("GET /a/b?q=1 HTTP/1.1\r\n");
    }

    @Test
    void aTargetThatIsNotAnAsciiOriginFormIsLeftToNetty() {
        for (String target : new String[] {"/caf\u00e9", "*", "http://example.test/x", ""}) {
            ByteBuf buf = Unpooled.buffer();
            assertThat(Http1HeadWriter.writeRequestLine(
                    new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.OPTIONS, target), buf)).as(target).isFalse();
            assertThat(buf.readableBytes()).as(target).isZero();
            buf.release();
        }
    }
}
