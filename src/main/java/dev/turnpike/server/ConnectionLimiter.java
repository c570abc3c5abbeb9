package dev.turnpike.server;

import dev.turnpike.metrics.ListenerMetrics;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts open connections per listener and per client address. A connection over a limit is answered with a
 * canned response (503 for the listener limit, 429 for the per-client one) and closed before any protocol
 * handler sees it. One instance per connection; the counters are shared by the listener.
 */
final class ConnectionLimiter extends ChannelInboundHandlerAdapter {
    private static final byte[] LISTENER_FULL = canned(503, "Service Unavailable", "Too many connections.\n");
    private static final byte[] CLIENT_FULL = canned(429, "Too Many Requests", "Too many connections from your address.\n");

    /** Shared by every connection of one listener. */
    static final class Counters {
        /** Changed by a reload that keeps the listener; open connections stay counted. */
        volatile int maxConnections;
        volatile int maxPerClient;
        final AtomicInteger open = new AtomicInteger();
        final ConcurrentHashMap<InetAddress, Integer> perClient = new ConcurrentHashMap<>();
        final ListenerMetrics metrics;

        Counters(int maxConnections, int maxPerClient, ListenerMetrics metrics) {
            this.maxConnections = maxConnections;
            this.maxPerClient = maxPerClient;
            this.metrics = metrics;
        }
    }

    private final Counters counters;
    private InetAddress client;
    private boolean countedListener;
    /** Passed both limits: counted as an open connection in the listener's metrics. */
    private boolean counted;

    ConnectionLimiter(Counters counters) {
        this.counters = counters;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (counters.open.incrementAndGet() > counters.maxConnections) {
            counters.open.decrementAndGet();
            counters.metrics.connectionRefused(false);
            refuse(ctx, LISTENER_FULL);
            return;
        }
        countedListener = true;
        if (counters.maxPerClient > 0 && ctx.channel().remoteAddress() instanceof InetSocketAddress remote) {
            InetAddress address = remote.getAddress();
            client = address;
            if (counters.perClient.merge(address, 1, Integer::sum) > counters.maxPerClient) {
                counters.metrics.connectionRefused(true);
                refuse(ctx, CLIENT_FULL);
                return;
            }
        }
        counted = true;
        counters.metrics.connectionOpened();
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (counted) {
            counted = false;
            counters.metrics.connectionClosed();
        }
        if (countedListener) {
            countedListener = false;
            counters.open.decrementAndGet();
        }
        if (client != null) {
            counters.perClient.computeIfPresent(client, (a, n) -> n <= 1 ? null : n - 1);
            client = null;
        }
        ctx.fireChannelInactive();
    }

    private static void refuse(ChannelHandlerContext ctx, byte[] response) {
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(Unpooled.wrappedBuffer(response)).addListener(ChannelFutureListener.CLOSE);
    }

    private static byte[] canned(int status, String reason, String body) {
        return ("HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
                + body.length() + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII);
    }
}
