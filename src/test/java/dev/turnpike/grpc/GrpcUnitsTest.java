package dev.turnpike.grpc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The pieces of gRPC that Turnpike codes by hand. */
class GrpcUnitsTest {
    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;

    @Test
    void contentTypes() {
        assertThat(Grpc.isGrpc("application/grpc")).isTrue();
        assertThat(Grpc.isGrpc("application/grpc+proto")).isTrue();
        assertThat(Grpc.isGrpc("Application/GRPC; charset=utf-8")).isTrue();
        assertThat(Grpc.isGrpc("application/grpc-web-text+proto")).isTrue();
        assertThat(Grpc.isGrpc("application/grpcx")).isFalse();
        assertThat(Grpc.isGrpc("application/json")).isFalse();
        assertThat(Grpc.isGrpc(null)).isFalse();
        assertThat(Grpc.isGrpcWeb("application/grpc-web")).isTrue();
        assertThat(Grpc.isGrpcWeb("application/grpc-web-text")).isTrue();
        assertThat(Grpc.isGrpcWeb("application/grpc+proto")).isFalse();
        assertThat(Grpc.isGrpcWebText("application/grpc-web+proto")).isFalse();
    }

    @Test
    void grpcTimeoutValues() {
        assertThat(Grpc.timeoutNanos("100m")).isEqualTo(TimeUnit.MILLISECONDS.toNanos(100));
        assertThat(Grpc.timeoutNanos("2S")).isEqualTo(TimeUnit.SECONDS.toNanos(2));
        assertThat(Grpc.timeoutNanos("1H")).isEqualTo(TimeUnit.HOURS.toNanos(1));
        assertThat(Grpc.timeoutNanos("3M")).isEqualTo(TimeUnit.MINUTES.toNanos(3));
        assertThat(Grpc.timeoutNanos("5u")).isEqualTo(5_000);
        assertThat(Grpc.timeoutNanos("99999999n")).isEqualTo(99_999_999);
        assertThat(Grpc.timeoutNanos("123456789m")).as("more than 8 digits").isEqualTo(-1);
        assertThat(Grpc.timeoutNanos("10")).isEqualTo(-1);
        assertThat(Grpc.timeoutNanos("m")).isEqualTo(-1);
        assertThat(Grpc.timeoutNanos("-1S")).isEqualTo(-1);
        assertThat(Grpc.timeoutNanos("1s")).as("lower-case s is not a unit").isEqualTo(-1);
        assertThat(Grpc.timeoutNanos(null)).isEqualTo(-1);
        assertThat(Grpc.timeoutValue(TimeUnit.SECONDS.toNanos(2))).isEqualTo("2000000u");
        assertThat(Grpc.timeoutNanos(Grpc.timeoutValue(TimeUnit.HOURS.toNanos(30))))
                .isGreaterThanOrEqualTo(TimeUnit.HOURS.toNanos(30));
    }

    @Test
    void grpcMessagesArePercentEncoded() {
        assertThat(Grpc.encodeMessage("plain text, 100 ok")).isEqualTo("plain text, 100 ok");
        assertThat(Grpc.encodeMessage("50% über\n")).isEqualTo("50%25 %C3%BCber%0A");
    }

    @Test
    void statusMapping() {
        assertThat(GrpcErrors.statusFor(502)).isEqualTo(GrpcStatus.UNAVAILABLE);
        assertThat(GrpcErrors.statusFor(503)).isEqualTo(GrpcStatus.UNAVAILABLE);
        assertThat(GrpcErrors.statusFor(504)).isEqualTo(GrpcStatus.DEADLINE_EXCEEDED);
        assertThat(GrpcErrors.statusFor(404)).isEqualTo(GrpcStatus.UNIMPLEMENTED);
        assertThat(GrpcErrors.statusFor(413)).isEqualTo(GrpcStatus.RESOURCE_EXHAUSTED);
        assertThat(GrpcErrors.statusFor(418)).isEqualTo(GrpcStatus.UNKNOWN);
        assertThat(GrpcStatus.describe(14)).isEqualTo("14 UNAVAILABLE");
        assertThat(GrpcStatus.describe(99)).isEqualTo("99");
    }

    @Test
    void healthMessages() {
        ByteBuf empty = GrpcHealth.request(ALLOC, "");
        assertThat(hex(empty)).isEqualTo("0000000000");
        ByteBuf named = GrpcHealth.request(ALLOC, "shop.Orders");
        assertThat(hex(named)).isEqualTo("000000000d0a0b" + hex("shop.Orders".getBytes(StandardCharsets.UTF_8)));
        empty.release();
        named.release();
        assertThat(GrpcHealth.status(Unpooled.wrappedBuffer(new byte[] {0x08, 0x01}))).isEqualTo(GrpcHealth.SERVING);
        assertThat(GrpcHealth.status(Unpooled.EMPTY_BUFFER)).as("absent: the default").isEqualTo(GrpcHealth.UNKNOWN);
        // an unknown length-delimited field 2 before the status is skipped
        assertThat(GrpcHealth.status(Unpooled.wrappedBuffer(new byte[] {0x12, 0x02, 'h', 'i', 0x08, 0x02})))
                .isEqualTo(GrpcHealth.NOT_SERVING);
        assertThat(GrpcHealth.status(Unpooled.wrappedBuffer(new byte[] {0x08}))).as("truncated").isEqualTo(-1);
    }

    @Test
    void grpcWebTextRequestsAreDecodedAcrossAnySplit() {
        byte[] message = new byte[1000];
        new Random(7).nextBytes(message);
        // two base64 segments, each padded, as a client that encodes per message sends them
        String text = Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(message, 400))
                + Base64.getEncoder().encodeToString(java.util.Arrays.copyOfRange(message, 400, 1000));
        byte[] chars = text.getBytes(StandardCharsets.US_ASCII);
        for (int piece : new int[] {1, 3, 5, 7, 64, chars.length}) {
            GrpcWebCall call = GrpcWebCall.of("application/grpc-web-text+proto");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (int i = 0; i < chars.length; i += piece) {
                int end = Math.min(chars.length, i + piece);
                ByteBuf in = Unpooled.wrappedBuffer(java.util.Arrays.copyOfRange(chars, i, end));
                HttpContent part = end == chars.length ? new DefaultLastHttpContent(in) : new DefaultHttpContent(in);
                HttpContent decoded = call.request(part, ALLOC);
                out.writeBytes(bytes(decoded.content()));
                decoded.release();
            }
            assertThat(out.toByteArray()).as("pieces of " + piece).isEqualTo(message);
        }
    }

    @Test
    void grpcWebTextRejectsWhatIsNotBase64() {
        GrpcWebCall call = GrpcWebCall.of("application/grpc-web-text");
        ByteBuf in = Unpooled.wrappedBuffer("AAA*".getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> call.request(new DefaultLastHttpContent(in), ALLOC))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(in.refCnt()).as("released").isZero();
        GrpcWebCall cut = GrpcWebCall.of("application/grpc-web-text");
        assertThatThrownBy(() -> cut.request(new DefaultLastHttpContent(
                Unpooled.wrappedBuffer("QUJD QQ".getBytes(StandardCharsets.US_ASCII))), ALLOC))
                .hasMessageContaining("ends inside");
    }

    @Test
    void grpcWebTextResponsesAreOneBase64StreamWithTheTrailerFrameAtItsEnd() {
        byte[] body = new byte[777];
        new Random(3).nextBytes(body);
        for (int piece : new int[] {1, 2, 4, 100, body.length}) {
            GrpcWebCall call = GrpcWebCall.of("application/grpc-web-text");
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < body.length; i += piece) {
                HttpContent out = call.response(new DefaultHttpContent(Unpooled.wrappedBuffer(
                        java.util.Arrays.copyOfRange(body, i, Math.min(body.length, i + piece)))), ALLOC);
                sb.append(out.content().toString(StandardCharsets.US_ASCII));
                out.release();
            }
            LastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
            last.trailingHeaders().set("grpc-status", "0").set("Grpc-Message", "ok");
            LastHttpContent end = call.end(last, ALLOC);
            assertThat(end.trailingHeaders().isEmpty()).isTrue();
            sb.append(end.content().toString(StandardCharsets.US_ASCII));
            end.release();
            String text = sb.toString();
            assertThat(text.indexOf('=')).as("padding only at the end").isIn(-1, text.length() - 1, text.length() - 2);
            byte[] decoded = Base64.getDecoder().decode(text);
            assertThat(java.util.Arrays.copyOf(decoded, body.length)).isEqualTo(body);
            byte[] frame = java.util.Arrays.copyOfRange(decoded, body.length, decoded.length);
            assertThat(frame[0] & 0xff).isEqualTo(0x80);
            assertThat(new String(frame, 5, frame.length - 5, StandardCharsets.UTF_8))
                    .isEqualTo("grpc-status: 0\r\ngrpc-message: ok\r\n");
        }
    }

    @Test
    void grpcWebContentTypesMapBothWays() {
        GrpcWebCall call = GrpcWebCall.of("application/grpc-web+proto");
        assertThat(call.upstreamContentType()).isEqualTo("application/grpc+proto");
        HttpHeaders h = new DefaultHttpHeaders().set("content-type", "application/grpc+proto").set("content-length", 9);
        call.responseHeaders(h);
        assertThat(h.get("content-type")).isEqualTo("application/grpc-web+proto");
        assertThat(h.contains("content-length")).isFalse();
        assertThat(GrpcWebCall.of("application/grpc-web-text").upstreamContentType()).isEqualTo("application/grpc");
        assertThat(GrpcWebCall.of("application/grpc")).isNull();
    }

    private static String hex(ByteBuf b) {
        return io.netty.buffer.ByteBufUtil.hexDump(b);
    }

    private static String hex(byte[] b) {
        return io.netty.buffer.ByteBufUtil.hexDump(b);
    }

    private static byte[] bytes(ByteBuf b) {
        byte[] out = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), out);
        return out;
    }
}
