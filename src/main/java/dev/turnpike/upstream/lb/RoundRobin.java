package dev.turnpike.upstream.lb;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code round_robin}: one shared atomic ticket counter. With equal weights ticket {@code k} goes to member
 * {@code k mod n}. With weights, tickets walk the weight line (length W = sum of weights) with a stride coprime to W
 * near {@code W/φ}: every W consecutive tickets cover each point once, so each member gets exactly its weight per
 * cycle, and the golden-ratio stride interleaves them (5:1:1 gives a a a b a c a) with O(n) memory (no expanded
 * table) and a binary search per pick.
 *
 * <p>Slow start: a ticket landing on a warming member is accepted with probability equal to its slow-start factor,
 * else a fresh ticket is drawn, which scales its share by that factor. An unusable member (down since the rebuild,
 * or tried) passes the pick to the next usable one.
 */
public final class RoundRobin implements Selector {
    public static final String NAME = "round_robin";
    private static final double GOLDEN = 0.6180339887498949;
    private static final int MAX_REJECTIONS = 8;

    private final Tier tier;
    private final AtomicLong tickets;
    private final long total;
    private final long stride;

    public RoundRobin(Tier tier, LbOptions options) {
        this.tier = tier;
        // Start at a random ticket so that balancers built at the same moment do not all hit member 0 first.
        this.tickets = new AtomicLong(ThreadLocalRandom.current().nextLong(1L << 40));
        this.total = tier.totalWeight();
        if (total >= 1L << 31) {
            throw new IllegalArgumentException("total weight too large for round_robin: " + total);
        }
        this.stride = tier.uniformWeights() ? 1 : coprimeStride(total);
    }

    /** The integer nearest {@code W/φ} that is coprime to W. */
    static long coprimeStride(long w) {
        if (w <= 2) {
            return 1;
        }
        long s = Math.max(1, Math.round(w * GOLDEN));
        for (long d = 0; ; d++) {
            if (s + d < w && gcd(s + d, w) == 1) {
                return s + d;
            }
            if (s - d >= 1 && gcd(s - d, w) == 1) {
                return s - d;
            }
        }
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    @Override
    public EndpointState select(PickContext ctx, boolean avoidTried) {
        int n = tier.size();
        int i = 0;
        for (int attempt = 0; ; attempt++) {
            i = indexOf(tickets.getAndIncrement(), n);
            EndpointState e = tier.member(i);
            double f = e.slowStartFactor();
            if (f >= 1.0 || attempt == MAX_REJECTIONS || ThreadLocalRandom.current().nextDouble() < f) {
                if (tier.usable(e, ctx, avoidTried)) {
                    return e;
                }
                break;
            }
        }
        return tier.scan(i + 1, ctx, avoidTried);
    }

    private int indexOf(long ticket, int n) {
        if (stride == 1 && tier.uniformWeights()) {
            return (int) Long.remainderUnsigned(ticket, n);
        }
        long point = Long.remainderUnsigned(ticket, total) * stride % total; // total < 2^31: no overflow
        return tier.indexAtWeight(point);
    }
}
