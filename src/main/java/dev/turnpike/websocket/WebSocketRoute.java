package dev.turnpike.websocket;

import dev.turnpike.config.HandlerConfig;
import dev.turnpike.http.AllowedOrigins;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One proxy route's WebSocket settings, compiled once and shared by every event loop: the splice settings, the
 * origin allow-list, and the route's connection counts (open WebSockets in total and per client address). A
 * handshake takes a {@link Lease} before it goes upstream (so handshakes in progress count too), and the lease is
 * released exactly once, when the handshake fails or the spliced connection ends.
 */
public final class WebSocketRoute {
    private final WebSocketSplice.Settings settings;
    private final AllowedOrigins origins;
    private final int maxConnections;
    private final int maxPerClient;
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, Integer> perClient = new ConcurrentHashMap<>();

    private WebSocketRoute(HandlerConfig.WebSocket config) {
        this.settings = new WebSocketSplice.Settings(config.inspect(), config.maxFrameSize(), config.maxMessageSize(),
                config.idleTimeout().toNanos());
        this.origins = new AllowedOrigins(config.allowedOrigins());
        this.maxConnections = config.maxConnections();
        this.maxPerClient = config.maxConnectionsPerClient();
    }

    /** The route's WebSocket handling, or null when the route has it off. */
    public static WebSocketRoute of(HandlerConfig.WebSocket config) {
        return config.enabled() ? new WebSocketRoute(config) : null;
    }

    public WebSocketSplice.Settings settings() {
        return settings;
    }

    /**
     * Whether a handshake with this {@code Origin} may go on. No allow-list allows all; a request without Origin is
     * allowed too: the check exists to stop other sites' pages in a browser (cross-site WebSocket hijacking), and
     * browsers always send Origin, while a client outside a browser could send any value it likes anyway.
     */
    public boolean originAllowed(String origin) {
        return origin == null || origins.isEmpty() || origins.contains(origin);
    }

    /** Open (or opening) WebSockets on this route now. */
    public int openConnections() {
        return open.get();
    }

    /** A slot of the route's connection limits; {@link #release} gives it back (once; later calls do nothing). */
    public final class Lease {
        private final InetAddress client;
        private boolean released;

        private Lease(InetAddress client) {
            this.client = client;
        }

        public void release() {
            if (released) {
                return;
            }
            released = true;
            open.decrementAndGet();
            if (client != null) {
                perClient.computeIfPresent(client, (a, n) -> n <= 1 ? null : n - 1);
            }
        }
    }

    /** The outcome of {@link #tryAcquire}: a lease, or the status that refuses the handshake. */
    public record Admission(Lease lease, HttpResponseStatus refusal, String detail) {}

    /**
     * Takes a slot for a handshake from {@code client}: refused with 503 when the route is at
     * {@code max_connections}, with 429 when this client address is at {@code max_connections_per_client}.
     */
    public Admission tryAcquire(InetAddress client) {
        if (maxConnections > 0 && open.incrementAndGet() > maxConnections) {
            open.decrementAndGet();
            return new Admission(null, HttpResponseStatus.SERVICE_UNAVAILABLE,
                    "This WebSocket endpoint is at its connection limit.");
        }
        if (maxConnections <= 0) {
            open.incrementAndGet();
        }
        InetAddress counted = null;
        if (maxPerClient > 0 && client != null) {
            if (perClient.merge(client, 1, Integer::sum) > maxPerClient) {
                perClient.computeIfPresent(client, (a, n) -> n <= 1 ? null : n - 1);
                open.decrementAndGet();
                return new Admission(null, HttpResponseStatus.TOO_MANY_REQUESTS,
                        "Too many WebSocket connections from your address.");
            }
            counted = client;
        }
        return new Admission(new Lease(counted), null, null);
    }
}
