package dev.turnpike.upstream.lb;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One health tier of a balancer snapshot, what a {@link Selector} picks from: the up primaries, else the up
 * backups, else (panic) every non-draining endpoint. Immutable; built when the membership or a health changes.
 *
 * <p>Health keeps changing between rebuilds, so selectors re-check {@link #usable} at pick time. Weighted helpers
 * use the configured weights; {@link #drawWeighted} folds slow start in by rejection sampling.
 */
public final class Tier {
    private static final int MAX_REJECTIONS = 8;

    private final EndpointState[] members;
    private final List<EndpointState> group;
    private final boolean panic;
    private final long[] cumulative;
    private final long totalWeight;
    private final boolean uniform;

    /**
     * @param members the endpoints usable when the tier was built, in membership order
     * @param group   all endpoints of the tier's priority whatever their health (the stable basis of
     *                {@code ip_hash}); equals {@code members} in panic mode
     * @param panic   members are usable unless draining (rather than only when up)
     */
    Tier(List<EndpointState> members, List<EndpointState> group, boolean panic) {
        if (members.isEmpty()) {
            throw new IllegalArgumentException("empty tier");
        }
        this.members = members.toArray(new EndpointState[0]);
        this.group = List.copyOf(group);
        this.panic = panic;
        this.cumulative = new long[this.members.length];
        long sum = 0;
        boolean same = true;
        for (int i = 0; i < this.members.length; i++) {
            sum += this.members[i].weight();
            cumulative[i] = sum;
            same &= this.members[i].weight() == this.members[0].weight();
        }
        this.totalWeight = sum;
        this.uniform = same;
    }

    public int size() {
        return members.length;
    }

    public EndpointState member(int i) {
        return members[i];
    }

    public List<EndpointState> members() {
        return List.of(members);
    }

    /** All endpoints of this priority, usable or not (see the constructor). */
    public List<EndpointState> group() {
        return group;
    }

    public boolean panic() {
        return panic;
    }

    /** The sum of the members' configured weights. */
    public long totalWeight() {
        return totalWeight;
    }

    /** Whether all members have the same configured weight. */
    public boolean uniformWeights() {
        return uniform;
    }

    /**
     * Whether {@code e} may take this request now: up (in panic mode: not draining), and, when {@code avoidTried},
     * not tried by an earlier attempt.
     */
    public boolean usable(EndpointState e, PickContext ctx, boolean avoidTried) {
        Health h = e.health();
        if (panic ? h == Health.DRAINING : h != Health.UP) {
            return false;
        }
        return !avoidTried || !ctx.isTried(e);
    }

    /** The first usable member from index {@code start} on (wrapping), or null: the fallback of every selector. */
    public EndpointState scan(int start, PickContext ctx, boolean avoidTried) {
        int n = members.length;
        int i = Math.floorMod(start, n);
        for (int k = 0; k < n; k++) {
            EndpointState e = members[i];
            if (usable(e, ctx, avoidTried)) {
                return e;
            }
            if (++i == n) {
                i = 0;
            }
        }
        return null;
    }

    /** The member owning {@code point} of the weight line: {@code point} in [0, {@link #totalWeight()}). */
    public int indexAtWeight(long point) {
        if (uniform) {
            return (int) (point / members[0].weight());
        }
        int i = Arrays.binarySearch(cumulative, point);
        return i >= 0 ? i + 1 : -i - 1;
    }

    /**
     * A member index drawn with probability proportional to its effective weight (configured weight × slow-start
     * factor; the latter by rejection, at most a few redraws).
     */
    public int drawWeighted(ThreadLocalRandom rnd) {
        int n = members.length;
        for (int attempt = 0; ; attempt++) {
            int i = n == 1 ? 0 : uniform ? rnd.nextInt(n) : indexAtWeight(rnd.nextLong(totalWeight));
            double f = members[i].slowStartFactor();
            if (f >= 1.0 || attempt == MAX_REJECTIONS || rnd.nextDouble() < f) {
                return i;
            }
        }
    }

    /** The index of {@code e} among the members, or -1. */
    public int indexOf(EndpointState e) {
        for (int i = 0; i < members.length; i++) {
            if (members[i] == e) {
                return i;
            }
        }
        return -1;
    }
}
