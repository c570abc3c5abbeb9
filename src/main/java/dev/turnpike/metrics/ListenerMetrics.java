package dev.turnpike.metrics;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

import java.util.concurrent.atomic.LongAdder;

/**
 * The metrics of one listener (by name, for the server's whole life) and the hooks its connections call. The
 * listener's channels carry it as the attribute {@link #KEY}, set when they are accepted; protocol code finds it with
 * {@link #of(Channel)} once per connection, never per request.
 *
 * <p>Hooks, each a {@link LongAdder} increment (no contention between event loops):
 * <ul>
 *   <li>{@link #connectionOpened()} / {@link #connectionClosed()} / {@link #connectionRefused(boolean)}: the
 *       listener's connection limiter, once per accepted connection.</li>
 *   <li>{@link #ended}: once per exchange, by the protocol connection, when the exchange is over;
 *       {@link #requestBodyBytes}: as request body bytes arrive.</li>
 *   <li>{@link #http2StreamOpened()} / {@link #http2StreamClosed()}: for the HTTP/2 connection handler, once per
 *       stream.</li>
 *   <li>{@link #tlsHandshakeSucceeded()} / {@link #tlsHandshakeFailed()}: for the TLS handler, once per
 *       handshake.</li>
 * </ul>
 */
public final class ListenerMetrics {
    /** The channel attribute that carries a connection's listener metrics. */
    public static final AttributeKey<ListenerMetrics> KEY = AttributeKey.valueOf(ListenerMetrics.class, "listener");

    /** Records nowhere: for connections made without a server (tests, embedding). */
    public static final ListenerMetrics NONE = new ListenerMetrics(null, "", -1);

    private final Metrics metrics;
    private final String name;
    private final int index;
    private final LongAdder opened = new LongAdder();
    private final LongAdder closed = new LongAdder();
    private final LongAdder refusedListener = new LongAdder();
    private final LongAdder refusedClient = new LongAdder();
    private final LongAdder streamsOpened = new LongAdder();
    private final LongAdder streamsClosed = new LongAdder();
    private final LongAdder tlsOk = new LongAdder();
    private final LongAdder tlsFailed = new LongAdder();
    private final LongAdder bodyBytesIn = new LongAdder();
    private final LongAdder websocketsOpened = new LongAdder();
    private final LongAdder websocketsClosed = new LongAdder();

    ListenerMetrics(Metrics metrics, String name, int index) {
        this.metrics = metrics;
        this.name = name;
        this.index = index;
    }

    /** The metrics of {@code channel}'s listener, or {@link #NONE}. */
    public static ListenerMetrics of(Channel channel) {
        ListenerMetrics m = channel.hasAttr(KEY) ? channel.attr(KEY).get() : null;
        return m != null ? m : NONE;
    }

    public String name() {
        return name;
    }

    int index() {
        return index;
    }

    // ------------------------------------------------------------------------------------------ connections

    /** A connection was accepted and passed the listener's limits. */
    public void connectionOpened() {
        opened.increment();
    }

    /** A connection counted by {@link #connectionOpened()} closed. */
    public void connectionClosed() {
        closed.increment();
    }

    /**
     * A connection was refused by a limit.
     *
     * @param perClient whether the per-client limit refused it (else the listener's)
     */
    public void connectionRefused(boolean perClient) {
        (perClient ? refusedClient : refusedListener).increment();
    }

    public void http2StreamOpened() {
        streamsOpened.increment();
    }

    public void http2StreamClosed() {
        streamsClosed.increment();
    }

    /**
     * An exchange switched protocols and its connection or stream now carries a WebSocket (the proxy switches for
     * nothing else): an HTTP/1.1 Upgrade or an HTTP/2 extended CONNECT.
     */
    public void websocketOpened() {
        websocketsOpened.increment();
    }

    /** A WebSocket counted by {@link #websocketOpened()} ended. */
    public void websocketClosed() {
        websocketsClosed.increment();
    }

    public void tlsHandshakeSucceeded() {
        tlsOk.increment();
    }

    public void tlsHandshakeFailed() {
        tlsFailed.increment();
    }

    // ------------------------------------------------------------------------------------------ exchanges

    /**
     * An exchange on this listener is over: its response was written, or its connection went away. Called once per
     * exchange on its event loop; does not allocate once the route's series exist.
     *
     * @param meter             the meter of the route that answered, or null when none did
     * @param cluster           the upstream cluster that served it, or null
     * @param status            the response status, 0 when no response head was sent
     * @param durationNanos     from the request head to now
     * @param responseBodyBytes response body bytes sent
     */
    public void ended(RouteMeter meter, String cluster, int status, long durationNanos, long responseBodyBytes) {
        if (metrics == null) {
            return;
        }
        RouteMeter m = meter != null ? meter : metrics.unrouted();
        m.record(this, cluster, status, durationNanos, responseBodyBytes);
    }

    /**
     * Request body bytes arrived (counted here, as they arrive, rather than per route: a body may still be arriving,
     * or be dropped unread, after its exchange was answered).
     */
    public void requestBodyBytes(long n) {
        bodyBytesIn.add(n);
    }

    // ------------------------------------------------------------------------------------------ views

    long activeConnections() {
        return Math.max(0, opened.sum() - closed.sum());
    }

    long acceptedConnections() {
        return opened.sum();
    }

    long refusedConnections(boolean perClient) {
        return (perClient ? refusedClient : refusedListener).sum();
    }

    long activeStreams() {
        return Math.max(0, streamsOpened.sum() - streamsClosed.sum());
    }

    long openedStreams() {
        return streamsOpened.sum();
    }

    long activeWebSockets() {
        return Math.max(0, websocketsOpened.sum() - websocketsClosed.sum());
    }

    long openedWebSockets() {
        return websocketsOpened.sum();
    }

    long requestBodyBytesTotal() {
        return bodyBytesIn.sum();
    }

    long tlsHandshakes() {
        return tlsOk.sum();
    }

    long tlsHandshakeFailures() {
        return tlsFailed.sum();
    }
}
