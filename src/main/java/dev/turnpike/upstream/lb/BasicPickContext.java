package dev.turnpike.upstream.lb;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A mutable, map-backed {@link PickContext}: for tests, tools and callers that already have the values at hand. The
 * proxy should rather adapt its exchange directly (no maps, nothing computed that the policy does not ask for).
 */
public final class BasicPickContext implements PickContext {
    private InetAddress clientAddress;
    private CharSequence path;
    private final Map<String, CharSequence> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    private final Map<String, CharSequence> cookies = new HashMap<>();
    private final Map<String, CharSequence> query = new HashMap<>();
    private final TriedEndpoints tried = new TriedEndpoints();

    public BasicPickContext clientAddress(InetAddress address) {
        this.clientAddress = address;
        return this;
    }

    public BasicPickContext path(CharSequence p) {
        this.path = p;
        return this;
    }

    public BasicPickContext header(String name, CharSequence value) {
        headers.put(name, value);
        return this;
    }

    public BasicPickContext cookie(String name, CharSequence value) {
        cookies.put(name, value);
        return this;
    }

    public BasicPickContext queryParam(String name, CharSequence value) {
        query.put(name, value);
        return this;
    }

    public BasicPickContext tried(EndpointState endpoint) {
        tried.add(endpoint);
        return this;
    }

    public TriedEndpoints tried() {
        return tried;
    }

    /** Forgets everything, for reuse. */
    public BasicPickContext clear() {
        clientAddress = null;
        path = null;
        headers.clear();
        cookies.clear();
        query.clear();
        tried.clear();
        return this;
    }

    @Override
    public InetAddress clientAddress() {
        return clientAddress;
    }

    @Override
    public CharSequence header(String name) {
        return headers.get(name);
    }

    @Override
    public CharSequence cookie(String name) {
        return cookies.get(name);
    }

    @Override
    public CharSequence path() {
        return path;
    }

    @Override
    public CharSequence queryParam(String name) {
        return query.get(name);
    }

    @Override
    public boolean isTried(EndpointState endpoint) {
        return tried.contains(endpoint);
    }
}
