package dev.turnpike.websocket;

import dev.turnpike.testing.WsClient;
import dev.turnpike.testing.WsUpstream;

import dev.turnpike.testing.TestServer;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Back-pressure through a spliced WebSocket: a side that does not read holds the other back (Turnpike stops reading
 * it) instead of Turnpike buffering what it sends. What the sender gets rid of is then bounded by the kernel's socket
 * buffers (here at most 32 MiB of receive and 4 MiB of send buffer per socket, on two sockets each way), not by the
 * size of the flood.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WebSocketBackPressureTest {
    private static final long MIB = 1024 * 1024;
    private static final long FLOOD = 128 * MIB;
    /** Two receive buffers at their 32 MiB maximum and two send buffers at 4 MiB: what the kernel may hold. */
    private static final long KERNEL = 2 * 32 * MIB + 2 * 4 * MIB;

    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closeables);
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private TestServer turnpike(WsUpstream up) throws Exception {
        TestServer s = TestServer.start("listen: \"127.0.0.1:0\"\nserver: {event_loops: 1}\naccess_log: off\n"
                + "clusters:\n  chat:\n    endpoints: [" + up.address() + "]\n"
                + "sites:\n  - routes:\n      - proxy: {cluster: chat}\n");
        closeables.add(s);
        return s;
    }

    /** Waits until {@code value} has started growing, then stopped for half a second; returns it. */
    private static long settled(LongSupplier value) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (value.getAsLong() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        long last = -1;
        long now = value.getAsLong();
        while (now != last) {
            last = now;
            Thread.sleep(500);
            now = value.getAsLong();
        }
        return now;
    }

    @Test
    void aClientThatDoesNotReadHoldsTheUpstreamBack() throws Exception {
        WsUpstream up = WsUpstream.start("a");
        closeables.add(up);
        TestServer s = turnpike(up);
        WsClient c = WsClient.connect(s.port(), "/ws");
        closeables.add(c);
        c.countOnly = true;
        c.channel.config().setAutoRead(false);
        c.send(new TextWebSocketFrame("flood:" + FLOOD / MIB));
        long stalled = settled(up.floodWritten::get);
        assertThat(stalled).as("the upstream is held back while the client reads nothing").isLessThan(KERNEL + MIB)
                .isLessThan(FLOOD);
        c.channel.config().setAutoRead(true);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (c.dataBytes.get() < FLOOD && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(c.dataBytes.get()).as("everything arrives once the client reads").isEqualTo(FLOOD);
    }

    @Test
    void anUpstreamThatDoesNotReadHoldsTheClientBack() throws Exception {
        WsUpstream up = WsUpstream.start("a");
        closeables.add(up);
        TestServer s = turnpike(up);
        WsClient c = WsClient.connect(s.port(), "/ws");
        closeables.add(c);
        c.send(new TextWebSocketFrame("stall"));
        AtomicLong written = new AtomicLong();
        byte[] chunk = new byte[64 * 1024];
        // queue the flood in the client; its writes complete only as the bytes leave for Turnpike
        c.channel.eventLoop().execute(() -> {
            for (long sent = 0; sent < FLOOD; sent += chunk.length) {
                c.channel.write(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(chunk)))
                        .addListener(f -> written.addAndGet(chunk.length));
            }
            c.channel.flush();
        });
        long stalled = settled(written::get);
        assertThat(stalled).as("the client is held back while the upstream reads nothing").isLessThan(KERNEL + MIB)
                .isLessThan(FLOOD);
    }
}
