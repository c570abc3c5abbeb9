package dev.turnpike.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * One HTTP/1.1 connection to an endpoint, owned by the {@link ConnectionPool} of its event loop. It is the
 * last handler of the connection's pipeline (after Netty's {@code HttpClientCodec}) and forwards what the
 * upstream sends to the exchange that currently uses it ({@link #attach}). While it sits idle in the pool, any
 * byte from the upstream or its close ends the connection: an idle connection must never carry data.
 *
 * <p>Everything here runs on the connection's event loop.
 */
public final class UpstreamConnection extends ChannelInboundHandlerAdapter {

    /** The user of an attached connection; called on the event loop. */
    public interface Listener {
        /** A decoded response part ({@code HttpResponse}, {@code HttpContent} …); the listener owns it. */
        void onMessage(Object msg);

        /** The end of a read burst: a good moment to flush what was passed on. */
        void onReadComplete();

        /** The upstream channel's writability changed (back-pressure for the request body). */
        void onWritabilityChanged();

        /** The connection closed while attached; {@code cause} is the error that closed it, if any. */
        void onClosed(Throwable cause);
    }

    private final ConnectionPool pool;
    private final Channel channel;
    private Listener listener;
    private Throwable failure;
    long idleSince;
    /** When the connection was established, and how many requests it carried (for the pool's limits). */
    long createdAt;
    /** The connection holds a slot of the pool's {@link ConnectionLimiter} (released when it closes). */
    boolean limiterSlot;
    long uses;

    UpstreamConnection(ConnectionPool pool, Channel channel) {
        this.pool = pool;
        this.channel = channel;
    }

    public Channel channel() {
        return channel;
    }

    public Endpoint endpoint() {
        return pool.endpoint();
    }

    /** Hands the connection to {@code l}; it receives everything the upstream sends until release or close. */
    public void attach(Listener l) {
        listener = l;
    }

    /**
     * Gives the connection back: pooled for reuse when {@code reusable} (the request and the response were
     * both complete and both allow keep-alive), else closed.
     */
    public void release(boolean reusable) {
        listener = null;
        pool.release(this, reusable);
    }

    /** Closes the connection; the current listener hears nothing more. */
    public void close() {
        listener = null;
        channel.close();
    }

    // ---- pipeline events -------------------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Listener l = listener;
        if (l != null) {
            l.onMessage(msg);
        } else {
            // Unsolicited data on an idle connection: it cannot be trusted for the next request.
            ReferenceCountUtil.release(msg);
            ctx.close();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Listener l = listener;
        if (l != null) {
            l.onReadComplete();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Listener l = listener;
        if (l != null) {
            l.onWritabilityChanged();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (failure == null) {
            failure = cause;
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Listener l = listener;
        listener = null;
        pool.closed(this);
        if (l != null) {
            l.onClosed(failure);
        }
    }
}
