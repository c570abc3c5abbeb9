package dev.turnpike.upstream;

import dev.turnpike.server.LoopClock;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * One request's way to an endpoint: a whole HTTP/1.1 connection owned by the {@link Http1ConnectionPool} of its
 * event loop (after its {@code Http1ClientCodec}), or one HTTP/2 stream of a connection of the
 * {@link Http2ConnectionPool} (after {@code Http2StreamFrameToHttpObjectCodec}). Either way it is the last handler of
 * its channel's pipeline and forwards what the upstream sends, as {@code HttpObject}s, to the exchange that currently
 * uses it ({@link #attach}). While an HTTP/1.1 connection sits idle in the pool, any byte from the upstream or its
 * close ends the connection: an idle connection must never carry data. A stream is never idle: it is used once.
 *
 * <p>It also keeps the attached user's deadline ({@link #deadline}): one scheduled task per connection, re-armed
 * lazily, as the client side does, so that the requests of a keep-alive connection move a deadline without
 * scheduling and cancelling a task each.
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

        /**
         * The connection closed while attached; {@code cause} is the error that closed it, if any. An
         * {@link UnprocessedRequestException} means the upstream did not process the request (safe to retry).
         */
        void onClosed(Throwable cause);

        /** The deadline set with {@link #deadline} passed while attached (and was not moved or cleared). */
        default void onDeadline() {
        }
    }

    private final ConnectionOwner owner;
    private final Channel channel;
    private Listener listener;
    private Throwable failure;
    long idleSince;
    /** When the connection was established, and how many requests it carried (for the pool's limits). */
    long createdAt;
    /** The connection holds a slot of the pool's {@link ConnectionLimiter} (released when it closes). */
    boolean limiterSlot;
    long uses;
    /** The connection (for a stream: the HTTP/2 connection under it) carried earlier requests. */
    boolean reused;
    /** The attached listener's deadline ({@code System.nanoTime()}), or 0 for none. */
    private long deadline;
    /** When {@link #timer} fires; it may be earlier than {@link #deadline}, never later. */
    private long timerAt;
    private ScheduledFuture<?> timer;
    private final Runnable timerTask = this::onTimer;

    UpstreamConnection(ConnectionOwner owner, Channel channel) {
        this.owner = owner;
        this.channel = channel;
    }

    /** The channel to write the request to: the connection, or the HTTP/2 stream. */
    public Channel channel() {
        return channel;
    }

    public Endpoint endpoint() {
        return owner.endpoint();
    }

    /**
     * Whether this connection carried requests before (an HTTP/1.1 keep-alive connection, or a stream of an HTTP/2
     * connection that carried others): a failure before any response may then be the upstream's idle close racing
     * the request rather than a problem with the request.
     */
    public boolean isReused() {
        return reused;
    }

    /** Hands the connection to {@code l}; it receives everything the upstream sends until release or close. */
    public void attach(Listener l) {
        listener = l;
        deadline = 0;
    }

    /**
     * Sets when the attached listener hears {@link Listener#onDeadline} ({@code System.nanoTime()} based), or clears
     * it with 0. Moving a deadline later schedules nothing: the task, when it fires early, waits again for the rest.
     */
    public void deadline(long at) {
        deadline = at;
        if (at == 0) {
            return;
        }
        if (timer != null && at - timerAt < 0) {
            timer.cancel(false);
            timer = null;
        }
        if (timer == null) {
            schedule(at);
        }
    }

    private void schedule(long at) {
        timerAt = at;
        timer = channel.eventLoop().schedule(timerTask, at - LoopClock.nanoTime(), TimeUnit.NANOSECONDS);
    }

    private void onTimer() {
        timer = null;
        long at = deadline;
        Listener l = listener;
        if (at == 0 || l == null) {
            return;
        }
        if (System.nanoTime() - at < 0) {
            schedule(at);
            return;
        }
        deadline = 0;
        l.onDeadline();
    }

    private void cancelTimer() {
        deadline = 0;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /**
     * Gives the connection back: pooled for reuse when {@code reusable} (the request and the response were
     * both complete and both allow keep-alive), else closed. A stream is always closed (reset if still open).
     */
    public void release(boolean reusable) {
        listener = null;
        deadline = 0; // the task, if any, stays for the next user: it finds no deadline, or that user's
        owner.release(this, reusable);
    }

    /** Closes the connection (resets the stream); the current listener hears nothing more. */
    public void close() {
        listener = null;
        cancelTimer();
        channel.close();
    }

    // ---- pipeline events -------------------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Listener l = listener;
        if (l != null) {
            LoopClock clock = LoopClock.callback();
            try {
                l.onMessage(msg);
            } finally {
                clock.end();
            }
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

    /** HTTP/2 only: how the stream ended when the upstream ended it (the close follows). */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof Http2GoAwayFrame goAway) {
            // Sent to the streams above the GOAWAY's last stream id: the upstream never processed them.
            goAway.release();
            fail(new UnprocessedRequestException("the upstream is going away (GOAWAY, "
                    + errorName(goAway.errorCode()) + ") and did not process the request"));
        } else if (evt instanceof Http2ResetFrame reset) {
            fail(reset.errorCode() == Http2Error.REFUSED_STREAM.code()
                    ? new UnprocessedRequestException("the upstream refused the stream (REFUSED_STREAM)")
                    : new StreamResetException(reset.errorCode()));
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail(Http2ConnectionPool.unprocessed(cause) ? new UnprocessedRequestException(
                "the upstream connection could not take another stream", cause) : cause);
        ctx.close();
    }

    private void fail(Throwable cause) {
        if (failure == null) {
            failure = cause;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimer(); // a closed connection must not stay referenced by the scheduler until its deadline
        Listener l = listener;
        listener = null;
        owner.closed(this);
        if (l != null) {
            l.onClosed(failure);
        }
    }

    static String errorName(long code) {
        Http2Error e = Http2Error.valueOf(code);
        return e == null ? "error " + code : e.name();
    }

    /** The upstream reset the stream (RST_STREAM) with an error other than REFUSED_STREAM. */
    public static final class StreamResetException extends java.io.IOException {
        StreamResetException(long errorCode) {
            super("the upstream reset the stream (" + errorName(errorCode) + ")");
        }
    }
}
