package dev.turnpike.upstream.lb;

import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code sticky}: session affinity by a cookie Turnpike issues, around any other policy
 * ({@link LbOptions#stickyPolicy()}). The cookie's value is an opaque id of the endpoint: 16 hex digits of
 * XXH64({@code host:port}) seeded with the salt, never the address; the same on every instance with the same salt.
 *
 * <p>A request whose cookie names an endpoint that can take it goes there, with nothing to set. The pin is honoured
 * while the endpoint is up (an up backup only while no primary is up, so clients move back when primaries return),
 * not tried by an earlier attempt, and, in panic mode, not draining; a draining one only with
 * {@link LbOptions#stickyAllowDraining()}. Otherwise (no cookie, unknown id, pinned endpoint unavailable) the inner
 * policy picks and the result says which cookie to set ({@link PickResult#setCookieName()}), preallocated per
 * endpoint: picking allocates nothing.
 */
public final class Sticky implements LoadBalancer {
    public static final String NAME = "sticky";

    private final LoadBalancer inner;
    private final LbOptions options;
    private final String cookieName;
    private final Map<String, EndpointState> byId;
    private final Map<EndpointState, String> ids;
    private final Map<EndpointState, PickResult[]> withCookie;
    private final boolean anyPrimaryUp;
    private final boolean anyUp;

    /** The {@link LoadBalancers.Factory} of {@code sticky}. */
    public static LoadBalancer create(List<EndpointState> endpoints, LbOptions options) {
        return new Sticky(LoadBalancers.create(options.stickyPolicy(), endpoints, options), options);
    }

    public Sticky(LoadBalancer inner, LbOptions options) {
        this.inner = inner;
        this.options = options;
        this.cookieName = options.stickyCookie();
        long seed = XxHash64.hash(options.stickySalt());
        List<EndpointState> endpoints = inner.endpoints();
        this.byId = new HashMap<>(endpoints.size() * 2);
        this.ids = new IdentityHashMap<>(endpoints.size());
        this.withCookie = new IdentityHashMap<>(endpoints.size());
        boolean primaryUp = false;
        boolean up = false;
        for (EndpointState e : endpoints) {
            String id = null;
            for (long s = seed; id == null || byId.containsKey(id); s++) { // a 64-bit collision: next seed
                id = cookieValue(e, s);
            }
            byId.put(id, e);
            ids.put(e, id);
            withCookie.put(e, new PickResult[] {
                    new PickResult(e, false, cookieName, id), new PickResult(e, true, cookieName, id)});
            up |= e.isUp();
            primaryUp |= e.isUp() && !e.isBackup();
        }
        this.anyPrimaryUp = primaryUp;
        this.anyUp = up;
    }

    static String cookieValue(EndpointState e, long seed) {
        String hex = Long.toHexString(XxHash64.hash(e.endpoint().authority(), seed));
        return "0".repeat(16 - hex.length()) + hex;
    }

    /** The cookie value that pins a client to {@code e}, or null if {@code e} is not in this snapshot. */
    public String cookieValueOf(EndpointState e) {
        return ids.get(e);
    }

    public String cookieName() {
        return cookieName;
    }

    public LoadBalancer inner() {
        return inner;
    }

    @Override
    public PickResult pick(PickContext ctx) {
        CharSequence value = ctx.cookie(cookieName);
        EndpointState pinned = null;
        if (value != null) {
            pinned = byId.get(value.toString());
            if (pinned != null) {
                PickResult r = honour(pinned, ctx);
                if (r != null) {
                    return r;
                }
            }
        }
        PickResult r = inner.pick(ctx);
        if (r == null || r.endpoint() == pinned) {
            return r;
        }
        PickResult[] c = withCookie.get(r.endpoint());
        return c == null ? r : c[r.panic() ? 1 : 0];
    }

    private PickResult honour(EndpointState e, PickContext ctx) {
        if (ctx.isTried(e)) {
            return null;
        }
        return switch (e.health()) {
            case UP -> !e.isBackup() || !anyPrimaryUp ? e.result : null;
            case DRAINING -> options.stickyAllowDraining() ? e.result : null;
            case DOWN -> anyUp ? null : e.panicResult;
        };
    }

    @Override
    public String policy() {
        return NAME;
    }

    @Override
    public List<EndpointState> endpoints() {
        return inner.endpoints();
    }

    @Override
    public LoadBalancer rebuild(List<EndpointState> endpoints) {
        return new Sticky(inner.rebuild(endpoints), options);
    }

    @Override
    public String toString() {
        return NAME + "(" + inner + ")";
    }
}
