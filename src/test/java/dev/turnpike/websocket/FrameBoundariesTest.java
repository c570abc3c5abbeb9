package dev.turnpike.websocket;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The frame-boundary follower against frames Netty's encoder wrote, fed in every possible split. */
class FrameBoundariesTest {

    /** The frames as bytes, masked like a client's or not like a server's, and where each one ends. */
    private static byte[] encode(boolean masked, List<Integer> ends, WebSocketFrame... frames) {
        EmbeddedChannel ch = new EmbeddedChannel(new WebSocket08FrameEncoder(masked));
        ByteBuf all = Unpooled.buffer();
        for (WebSocketFrame f : frames) {
            ch.writeOutbound(f);
            ByteBuf part;
            while ((part = ch.readOutbound()) != null) {
                all.writeBytes(part);
                part.release();
            }
            ends.add(all.readableBytes());
        }
        ch.finishAndReleaseAll();
        byte[] bytes = new byte[all.readableBytes()];
        all.readBytes(bytes);
        all.release();
        return bytes;
    }

    private static WebSocketFrame[] frames() {
        byte[] medium = new byte[300];        // 16-bit length
        byte[] large = new byte[70_000];      // 64-bit length
        new Random(3).nextBytes(large);
        return new WebSocketFrame[] {new TextWebSocketFrame("hi"), new BinaryWebSocketFrame(Unpooled.wrappedBuffer(medium)),
                new PingWebSocketFrame(Unpooled.EMPTY_BUFFER), new BinaryWebSocketFrame(Unpooled.wrappedBuffer(large)),
                new CloseWebSocketFrame(1000, "done")};
    }

    @Test
    void boundariesAreFoundWhateverTheSplit() {
        for (boolean masked : new boolean[] {false, true}) {
            List<Integer> ends = new ArrayList<>();
            byte[] bytes = encode(masked, ends, frames());
            for (int chunk : new int[] {1, 2, 3, 7, 125, 4096, bytes.length}) {
                FrameBoundaries f = new FrameBoundaries();
                ByteBuf buf = Unpooled.wrappedBuffer(bytes);
                List<Integer> seen = new ArrayList<>();
                for (int i = 0; i < bytes.length; ) {
                    int len = Math.min(chunk, bytes.length - i);
                    int followed = 0;
                    while (followed < len) {
                        followed += f.follow(buf, i + followed, len - followed, true);
                        if (f.atBoundary()) {
                            seen.add(i + followed);
                        }
                    }
                    i += len;
                }
                assertThat(seen).as("masked=%s chunk=%d", masked, chunk).containsExactlyElementsOf(ends);
                assertThat(f.closeSeen()).isTrue();
            }
        }
    }

    @Test
    void aCloseFrameCountsOnlyOnceItIsWhole() {
        List<Integer> ends = new ArrayList<>();
        byte[] bytes = encode(true, ends, new CloseWebSocketFrame(1001, "bye"));
        FrameBoundaries f = new FrameBoundaries();
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        f.follow(buf, 0, bytes.length - 1, false);
        assertThat(f.closeSeen()).isFalse();
        assertThat(f.atBoundary()).isFalse();
        f.follow(buf, bytes.length - 1, 1, false);
        assertThat(f.closeSeen()).isTrue();
        assertThat(f.atBoundary()).isTrue();
    }
}
