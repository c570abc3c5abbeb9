package dev.turnpike.upstream.lb;

import java.util.Objects;

/**
 * The options of a policy; each policy reads the ones it needs and ignores the rest. Immutable; start from
 * {@link #DEFAULTS} and use the {@code with*} methods.
 *
 * @param hashKey             what {@code consistent_hash}, {@code ring_hash} and {@code maglev} hash
 * @param hashTable           the table {@code consistent_hash} uses
 * @param vnodesPerWeight     ring points per weight unit (weights are first divided by their greatest common
 *                            divisor), 1..1000; 160 like ketama
 * @param maxRingSize         cap on the ring's points (they are scaled down proportionally above it)
 * @param maglevTableSize     the Maglev table size, rounded up to a prime; 0 = the smallest prime at least
 *                            {@code max(65537, 100 × endpoints)}
 * @param stickyCookie        the name of the cookie {@code sticky} issues
 * @param stickyPolicy        the policy {@code sticky} wraps (anything but {@code sticky})
 * @param stickySalt          mixed into the cookie value, so that the value cannot be matched to an address by
 *                            hashing candidate addresses; keep it equal on every instance behind the same name,
 *                            or pins will not survive moving between them
 * @param stickyAllowDraining honour a pin to a draining endpoint (nginx's "drain": existing sessions finish on
 *                            it); off by default, so a draining endpoint gets no request at all
 */
public record LbOptions(HashKey hashKey, HashTable hashTable, int vnodesPerWeight, int maxRingSize,
                        int maglevTableSize, String stickyCookie, String stickyPolicy, String stickySalt,
                        boolean stickyAllowDraining) {

    public enum HashTable { RING, MAGLEV }

    public static final int MAX_MAGLEV_TABLE_SIZE = 10_000_019;
    public static final int MAX_RING_SIZE = 1 << 23;

    public static final LbOptions DEFAULTS = new LbOptions(HashKey.CLIENT_ADDRESS, HashTable.RING, 160, 1 << 18, 0,
            "tp_route", RoundRobin.NAME, "", false);

    public LbOptions {
        Objects.requireNonNull(hashKey, "hashKey");
        Objects.requireNonNull(hashTable, "hashTable");
        Objects.requireNonNull(stickyCookie, "stickyCookie");
        Objects.requireNonNull(stickyPolicy, "stickyPolicy");
        Objects.requireNonNull(stickySalt, "stickySalt");
        if (vnodesPerWeight < 1 || vnodesPerWeight > 1000) {
            throw new IllegalArgumentException("vnodesPerWeight must be between 1 and 1000, got " + vnodesPerWeight);
        }
        if (maxRingSize < 1024 || maxRingSize > MAX_RING_SIZE) {
            throw new IllegalArgumentException("maxRingSize must be between 1024 and " + MAX_RING_SIZE + ", got "
                    + maxRingSize);
        }
        if (maglevTableSize != 0 && (maglevTableSize < 3 || maglevTableSize > MAX_MAGLEV_TABLE_SIZE)) {
            throw new IllegalArgumentException("maglevTableSize must be 0 (automatic) or between 3 and "
                    + MAX_MAGLEV_TABLE_SIZE + ", got " + maglevTableSize);
        }
        if (!isCookieName(stickyCookie)) {
            throw new IllegalArgumentException("invalid sticky cookie name '" + stickyCookie + "'");
        }
        if (stickyPolicy.equals(Sticky.NAME)) {
            throw new IllegalArgumentException("sticky cannot wrap itself");
        }
    }

    /** An RFC 6265 cookie name: a non-empty HTTP token. */
    static boolean isCookieName(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= 0x20 || c >= 0x7f || "()<>@,;:\\\"/[]?={}".indexOf(c) >= 0) {
                return false;
            }
        }
        return true;
    }

    public LbOptions withHashKey(HashKey k) {
        return new LbOptions(k, hashTable, vnodesPerWeight, maxRingSize, maglevTableSize, stickyCookie,
                stickyPolicy, stickySalt, stickyAllowDraining);
    }

    public LbOptions withHashTable(HashTable t) {
        return new LbOptions(hashKey, t, vnodesPerWeight, maxRingSize, maglevTableSize, stickyCookie, stickyPolicy,
                stickySalt, stickyAllowDraining);
    }

    public LbOptions withVnodesPerWeight(int n) {
        return new LbOptions(hashKey, hashTable, n, maxRingSize, maglevTableSize, stickyCookie, stickyPolicy,
                stickySalt, stickyAllowDraining);
    }

    public LbOptions withMaxRingSize(int n) {
        return new LbOptions(hashKey, hashTable, vnodesPerWeight, n, maglevTableSize, stickyCookie, stickyPolicy,
                stickySalt, stickyAllowDraining);
    }

    public LbOptions withMaglevTableSize(int n) {
        return new LbOptions(hashKey, hashTable, vnodesPerWeight, maxRingSize, n, stickyCookie, stickyPolicy,
                stickySalt, stickyAllowDraining);
    }

    public LbOptions withSticky(String cookie, String policy) {
        return new LbOptions(hashKey, hashTable, vnodesPerWeight, maxRingSize, maglevTableSize, cookie, policy,
                stickySalt, stickyAllowDraining);
    }

    public LbOptions withStickySalt(String salt) {
        return new LbOptions(hashKey, hashTable, vnodesPerWeight, maxRingSize, maglevTableSize, stickyCookie,
                stickyPolicy, salt, stickyAllowDraining);
    }

    public LbOptions withStickyAllowDraining(boolean allow) {
        return new LbOptions(hashKey, hashTable, vnodesPerWeight, maxRingSize, maglevTableSize, stickyCookie,
                stickyPolicy, stickySalt, allow);
    }
}
