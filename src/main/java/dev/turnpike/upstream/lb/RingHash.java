package dev.turnpike.upstream.lb;

import java.util.Arrays;

/**
 * {@code ring_hash} (and {@code consistent_hash} with the ring table): ketama-style consistent hashing. Each member
 * gets {@code vnodesPerWeight} points per weight unit (weights divided by their gcd; all counts scaled down past
 * {@code maxRingSize}) at {@code XXH64("host:port-i")}; a request key (see {@link HashKey}) goes to the first point
 * at or after its XXH64, clockwise. Adding or removing one of N endpoints moves about 1/N of the keys, and only
 * theirs. When that owner is unusable (or tried) the walk goes on clockwise to the next usable owner, so retries
 * are deterministic too. No key: round robin.
 *
 * <p>Memory 12 bytes per point (sorted {@code long[]} + owner {@code int[]}); pick = one hash + one binary search.
 * The table is built over the tier's members, so it follows health changes with the same minimal disruption.
 */
public final class RingHash extends HashSelector {
    public static final String NAME = "ring_hash";
    private static final int MAX_WALK = 256;

    private final long[] points;   // unsigned hashes with the sign bit flipped, so signed order = unsigned order
    private final int[] owners;

    public RingHash(Tier tier, LbOptions options) {
        super(tier, options);
        int n = tier.size();
        int g = 0;
        for (int i = 0; i < n; i++) {
            g = gcd(g, tier.member(i).weight());
        }
        long[] counts = new long[n];
        long sum = 0;
        for (int i = 0; i < n; i++) {
            counts[i] = (long) (tier.member(i).weight() / g) * options.vnodesPerWeight();
            sum += counts[i];
        }
        if (sum > options.maxRingSize()) {
            double scale = (double) options.maxRingSize() / sum;
            sum = 0;
            for (int i = 0; i < n; i++) {
                counts[i] = Math.max(1, (long) Math.floor(counts[i] * scale));
                sum += counts[i];
            }
        }
        int size = (int) sum;
        long[] raw = new long[size];
        int[] rawOwner = new int[size];
        int k = 0;
        for (int i = 0; i < n; i++) {
            String authority = tier.member(i).endpoint().authority();
            for (long v = 0; v < counts[i]; v++) {
                raw[k] = XxHash64.hash(authority + "-" + v) ^ Long.MIN_VALUE;
                rawOwner[k++] = i;
            }
        }
        long[] sorted = raw.clone();
        Arrays.sort(sorted);
        int[] own = new int[size];
        Arrays.fill(own, -1);
        for (int j = 0; j < size; j++) {
            int pos = Arrays.binarySearch(sorted, raw[j]);
            while (pos > 0 && sorted[pos - 1] == raw[j]) {
                pos--;
            }
            while (own[pos] != -1) { // equal points (a 64-bit collision): keep them in build order
                pos++;
            }
            own[pos] = rawOwner[j];
        }
        this.points = sorted;
        this.owners = own;
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    /** The number of points on the ring. */
    public int size() {
        return points.length;
    }

    @Override
    EndpointState selectHash(long hash, PickContext ctx, boolean avoidTried) {
        int pos = Arrays.binarySearch(points, hash ^ Long.MIN_VALUE);
        if (pos < 0) {
            pos = -pos - 1;
        }
        int len = points.length;
        if (pos == len) {
            pos = 0;
        }
        int owner = owners[pos];
        for (int step = 0, max = Math.min(len, MAX_WALK); step < max; step++) {
            owner = owners[pos];
            EndpointState e = tier.member(owner);
            if (tier.usable(e, ctx, avoidTried)) {
                return e;
            }
            if (++pos == len) {
                pos = 0;
            }
        }
        return tier.scan(owner + 1, ctx, avoidTried);
    }
}
