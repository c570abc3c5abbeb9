package dev.turnpike.upstream.lb;

import java.net.InetAddress;
import java.util.List;

/**
 * {@code ip_hash}: the client address (all of its bytes) hashed onto the weight line of the tier's whole priority
 * group, healthy or not, like nginx: a client keeps its endpoint while that endpoint is up, whatever happens to the
 * others; the clients of an unusable endpoint are rehashed (up to 20 times, then the next usable member), and
 * return to it when it does. Adding or removing an endpoint remaps most clients (plain modulo); use
 * {@code consistent_hash} with the {@code client_address} key for minimal disruption. No address: round robin.
 */
public final class IpHash implements Selector {
    public static final String NAME = "ip_hash";
    private static final int REHASHES = 20;

    private final Tier tier;
    private final EndpointState[] group;
    private final long[] cumulative;
    private final long total;
    private final RoundRobin fallback;

    public IpHash(Tier tier, LbOptions options) {
        this.tier = tier;
        List<EndpointState> g = tier.group();
        this.group = g.toArray(new EndpointState[0]);
        this.cumulative = new long[group.length];
        long sum = 0;
        for (int i = 0; i < group.length; i++) {
            sum += group[i].weight();
            cumulative[i] = sum;
        }
        this.total = sum;
        this.fallback = new RoundRobin(tier, options);
    }

    @Override
    public EndpointState select(PickContext ctx, boolean avoidTried) {
        InetAddress address = ctx.clientAddress();
        if (address == null) {
            return fallback.select(ctx, avoidTried);
        }
        long h = XxHash64.hash(address.getAddress());
        for (int attempt = 0; attempt <= REHASHES; attempt++) {
            EndpointState e = group[indexAt(Long.remainderUnsigned(h, total))];
            if (tier.usable(e, ctx, avoidTried)) {
                return e;
            }
            h = XxHash64.mix(h);
        }
        return tier.scan((int) Long.remainderUnsigned(h, tier.size()), ctx, avoidTried);
    }

    private int indexAt(long point) {
        int lo = 0;
        int hi = cumulative.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cumulative[mid] > point) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }
}
