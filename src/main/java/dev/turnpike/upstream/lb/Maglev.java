package dev.turnpike.upstream.lb;

import java.util.Arrays;

/**
 * {@code maglev} (and {@code consistent_hash} with the Maglev table): Google's Maglev hashing (Eisenbud et al.,
 * NSDI 2016), weighted as in Envoy. A prime-sized lookup table (by default the smallest prime at least
 * {@code max(65537, 100 × members)}) is filled by letting members take turns claiming the next free slot of their own
 * permutation ({@code offset + j × skip mod M}, both from XXH64 of {@code host:port}); a member of weight w takes a
 * turn w/maxWeight as often. A pick is one hash and one array read; spread is near perfect, and adding or removing
 * one of N endpoints moves about 1/N of the keys (slightly more than a ring). When the owner is unusable the key is
 * rehashed a few times, then the next usable member is taken. No key: round robin.
 */
public final class Maglev extends HashSelector {
    public static final String NAME = "maglev";
    private static final int REHASHES = 8;

    private final int[] table;

    public Maglev(Tier tier, LbOptions options) {
        super(tier, options);
        int n = tier.size();
        int m = options.maglevTableSize() > 0 ? nextPrime(options.maglevTableSize())
                : nextPrime((int) Math.min(LbOptions.MAX_MAGLEV_TABLE_SIZE, Math.max(65537L, 100L * n)));
        if (m < n) {
            m = nextPrime(n); // every member needs at least one slot
        }
        long[] position = new long[n];
        long[] skip = new long[n];
        long[] target = new long[n];
        int maxWeight = 1;
        for (int i = 0; i < n; i++) {
            String authority = tier.member(i).endpoint().authority();
            position[i] = Long.remainderUnsigned(XxHash64.hash(authority, 0), m);
            skip[i] = Long.remainderUnsigned(XxHash64.hash(authority, 1), m - 1) + 1;
            maxWeight = Math.max(maxWeight, tier.member(i).weight());
        }
        int[] t = new int[m];
        Arrays.fill(t, -1);
        int filled = 0;
        for (long iteration = 1; filled < m; iteration++) {
            for (int i = 0; i < n && filled < m; i++) {
                if (iteration * tier.member(i).weight() < target[i]) {
                    continue;
                }
                target[i] += maxWeight;
                int c = (int) position[i];
                while (t[c] >= 0) {
                    c = (int) ((c + skip[i]) % m);
                }
                t[c] = i;
                position[i] = (c + skip[i]) % m;
                filled++;
            }
        }
        this.table = t;
    }

    /** The smallest prime at least {@code n} (n at least 2). */
    static int nextPrime(int n) {
        for (int c = Math.max(2, n); ; c++) {
            if (isPrime(c)) {
                return c;
            }
        }
    }

    static boolean isPrime(int c) {
        if (c < 2) {
            return false;
        }
        if (c % 2 == 0) {
            return c == 2;
        }
        for (int d = 3; (long) d * d <= c; d += 2) {
            if (c % d == 0) {
                return false;
            }
        }
        return true;
    }

    /** The table size M (prime). */
    public int tableSize() {
        return table.length;
    }

    @Override
    EndpointState selectHash(long hash, PickContext ctx, boolean avoidTried) {
        int m = table.length;
        long h = hash;
        int owner = table[(int) Long.remainderUnsigned(h, m)];
        for (int attempt = 0; attempt <= REHASHES; attempt++) {
            int o = table[(int) Long.remainderUnsigned(h, m)];
            EndpointState e = tier.member(o);
            if (tier.usable(e, ctx, avoidTried)) {
                return e;
            }
            h = XxHash64.mix(h);
        }
        return tier.scan(owner + 1, ctx, avoidTried);
    }
}
