package dev.turnpike.proxy;

import dev.turnpike.upstream.ConnectionPool;
import dev.turnpike.upstream.PoolExhaustedException;
import dev.turnpike.upstream.UpstreamConnection;
import dev.turnpike.upstream.cluster.ClusterRuntime;
import dev.turnpike.upstream.cluster.Outcome;
import dev.turnpike.upstream.cluster.UpstreamTarget;
import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.PickContext;
import dev.turnpike.upstream.lb.PickResult;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A fire-and-forget copy of a request to a route's shadow cluster ({@code mirror}). Runs on the primary exchange's
 * event loop but shares nothing with it after it started: it has its own request slot on the shadow cluster (over the
 * limit the copy is dropped), one attempt (never retried), its own deadline (the shadow's first-byte timeout for the
 * whole copy), and it reads and discards the response. Failures only reach the shadow cluster's outcome reporting.
 */
final class MirrorCall implements UpstreamConnection.Listener, ConnectionPool.ConnectCallback, Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(MirrorCall.class);

    private final ClusterRuntime shadow;
    private final HttpRequest request;
    /** Retained copies of the whole body (null: no body); each is written once and so released by the write. */
    private List<HttpContent> body;
    private final EventLoop loop;
    private EndpointState endpoint;
    private UpstreamConnection conn;
    private long started;
    private long headAt;
    private int status;
    private boolean reusable;
    private boolean done;
    private ScheduledFuture<?> timer;

    private MirrorCall(ClusterRuntime shadow, HttpRequest request, List<HttpContent> body, EventLoop loop) {
        this.shadow = shadow;
        this.request = request;
        this.body = body;
        this.loop = loop;
    }

    /**
     * Sends a copy of {@code method uri headers} (and {@code body}, whose parts this call owns) to {@code shadow}, on
     * {@code loop} (the caller's). Never throws and never blocks: over the shadow's limits or without an endpoint the
     * copy is dropped.
     */
    static void send(ClusterRuntime shadow, HttpRequest primary, HttpHeaders headers, boolean preserveHost,
                     List<HttpContent> body, PickContext ctx, EventLoop loop, ByteBufAllocator alloc) {
        if (!shadow.tryStartRequest()) {
            release(body);
            return;
        }
        PickResult pick = shadow.pick(ctx);
        if (pick == null) {
            shadow.endRequest();
            release(body);
            return;
        }
        UpstreamTarget where = shadow.target(pick.endpoint());
        HttpHeaders h = headers.copy();
        if (!preserveHost || !h.contains(HttpHeaderNames.HOST)) {
            h.set(HttpHeaderNames.HOST, where instanceof UpstreamTarget.Tcp tcp
                    ? tcp.endpoint().hostHeader() : UpstreamTarget.Unix.HOST_HEADER);
        }
        HttpRequest copy = new DefaultHttpRequest(HttpVersion.HTTP_1_1, primary.method(), primary.uri(), h);
        MirrorCall m = new MirrorCall(shadow, copy, body, loop);
        m.start(pick.endpoint(), shadow.pool(loop, where, alloc));
    }

    private static void release(List<HttpContent> body) {
        if (body != null) {
            for (HttpContent c : body) {
                c.release();
            }
        }
    }

    private void start(EndpointState e, ConnectionPool pool) {
        endpoint = e;
        started = System.nanoTime();
        shadow.onAttemptStart(e);
        long deadline = Math.max(shadow.timeouts().firstByteNanos(), TimeUnit.SECONDS.toNanos(1));
        timer = loop.schedule(this, deadline, TimeUnit.NANOSECONDS);
        UpstreamConnection c = pool.pollIdle();
        if (c != null) {
            connected(c);
        } else {
            pool.connect(this);
        }
    }

    @Override
    public void connected(UpstreamConnection c) {
        if (done) {
            c.release(true);
            return;
        }
        conn = c;
        c.attach(this);
        Channel ch = c.channel();
        ch.write(request, ch.voidPromise());
        List<HttpContent> parts = body;
        body = null;
        boolean ended = false;
        if (parts != null) {
            for (HttpContent p : parts) {
                ended = p instanceof LastHttpContent;
                ch.write(p, ch.voidPromise());
            }
        }
        if (!ended) {
            ch.write(LastHttpContent.EMPTY_LAST_CONTENT, ch.voidPromise());
        }
        ch.flush();
    }

    @Override
    public void connectFailed(Throwable cause) {
        LOG.debug("mirror: connect to {} failed: {}", shadow.name(), cause.toString());
        finish(cause instanceof PoolExhaustedException ? Outcome.CANCELLED : Outcome.CONNECT_FAILURE);
    }

    @Override
    public void onMessage(Object msg) {
        try {
            if (done) {
                return;
            }
            if (msg instanceof HttpResponse head && head.status().code() >= 200) {
                headAt = System.nanoTime();
                status = head.status().code();
                reusable = HttpUtil.isKeepAlive(head) && (HttpUtil.isTransferEncodingChunked(head)
                        || head.headers().contains(HttpHeaderNames.CONTENT_LENGTH));
            }
            if (msg instanceof LastHttpContent && status != 0) {
                UpstreamConnection c = conn;
                conn = null;
                if (c != null) {
                    c.release(reusable);
                }
                finish(Outcome.ofStatus(status));
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void onReadComplete() {
    }

    @Override
    public void onWritabilityChanged() {
    }

    @Override
    public void onClosed(Throwable cause) {
        conn = null;
        finish(Outcome.RESET);
    }

    /** The deadline of the whole copy. */
    @Override
    public void run() {
        timer = null;
        if (!done) {
            finish(Outcome.TIMEOUT);
        }
    }

    private void finish(Outcome outcome) {
        if (done) {
            return;
        }
        done = true;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        UpstreamConnection c = conn;
        conn = null;
        if (c != null) {
            c.close();
        }
        release(body);
        body = null;
        long end = headAt != 0 ? headAt : System.nanoTime();
        shadow.onAttemptResult(endpoint, outcome, end - started);
        shadow.endRequest();
    }
}
