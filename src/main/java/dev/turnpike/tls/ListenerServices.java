package dev.turnpike.tls;

import dev.turnpike.http.HttpServices;
import dev.turnpike.http.RequestDispatcher;

import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The snapshot's services with a listener-specific dispatcher in front (an HTTPS redirect, the misdirected
 * request check). The derived services are rebuilt only when the snapshot changes, not per request.
 */
final class ListenerServices implements Supplier<HttpServices> {
    private final Supplier<HttpServices> snapshot;
    private final Function<RequestDispatcher, RequestDispatcher> wrap;
    private volatile Pair cached;

    private record Pair(HttpServices source, HttpServices wrapped) {}

    ListenerServices(Supplier<HttpServices> snapshot, Function<RequestDispatcher, RequestDispatcher> wrap) {
        this.snapshot = snapshot;
        this.wrap = wrap;
    }

    @Override
    public HttpServices get() {
        HttpServices s = snapshot.get();
        Pair p = cached;
        if (p != null && p.source == s) {
            return p.wrapped;
        }
        HttpServices w = s.withDispatcher(wrap.apply(s.dispatcher()));
        cached = new Pair(s, w);
        return w;
    }
}
