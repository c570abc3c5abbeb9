package dev.turnpike.upstream.lb;

/**
 * What the hashing tables (ring, Maglev) share: the request key is hashed and looked up in the table; a request
 * without the key falls back to round robin.
 */
abstract class HashSelector implements Selector {
    final Tier tier;
    private final HashKey key;
    private final RoundRobin fallback;

    HashSelector(Tier tier, LbOptions options) {
        this.tier = tier;
        this.key = options.hashKey();
        this.fallback = new RoundRobin(tier, options);
    }

    @Override
    public final EndpointState select(PickContext ctx, boolean avoidTried) {
        Object value = key.value(ctx);
        if (value == null) {
            return fallback.select(ctx, avoidTried);
        }
        return selectHash(HashKey.hashValue(value), ctx, avoidTried);
    }

    /** The usable member the table gives for {@code hash}. */
    abstract EndpointState selectHash(long hash, PickContext ctx, boolean avoidTried);
}
