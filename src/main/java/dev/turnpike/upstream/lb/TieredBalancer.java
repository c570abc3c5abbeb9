package dev.turnpike.upstream.lb;

import java.util.ArrayList;
import java.util.List;

/**
 * The health-aware {@link LoadBalancer} around a policy's {@link Selector}s: splits the snapshot into tiers (up
 * primaries, up backups, or in panic every non-draining endpoint), builds one selector per tier, and walks them:
 *
 * <ol>
 *   <li>primaries, avoiding tried endpoints;</li>
 *   <li>backups, avoiding tried endpoints (so a retry after every primary failed goes to a backup);</li>
 *   <li>primaries then backups, tried ones allowed (better a second try than none);</li>
 *   <li>if the snapshot is stale (everything it had up went down since), a live scan of all endpoints.</li>
 * </ol>
 *
 * In panic (nothing up when built) only the panic tier exists. Selectors are built in the constructor; picks only
 * read final fields.
 */
final class TieredBalancer implements LoadBalancer {
    private final String policy;
    private final List<EndpointState> endpoints;
    private final LbOptions options;
    private final Selector.Factory factory;
    private final Selector primary;
    private final Selector backup;
    private final Selector panic;

    TieredBalancer(String policy, List<EndpointState> endpoints, LbOptions options, Selector.Factory factory) {
        this.policy = policy;
        this.endpoints = List.copyOf(endpoints);
        this.options = options;
        this.factory = factory;
        List<EndpointState> primaries = new ArrayList<>();
        List<EndpointState> upPrimaries = new ArrayList<>();
        List<EndpointState> backups = new ArrayList<>();
        List<EndpointState> upBackups = new ArrayList<>();
        List<EndpointState> nonDraining = new ArrayList<>();
        for (EndpointState e : this.endpoints) {
            (e.isBackup() ? backups : primaries).add(e);
            if (e.isUp()) {
                (e.isBackup() ? upBackups : upPrimaries).add(e);
            }
            if (!e.isDraining()) {
                nonDraining.add(e);
            }
        }
        this.primary = upPrimaries.isEmpty() ? null
                : factory.create(new Tier(upPrimaries, primaries, false), options);
        this.backup = upBackups.isEmpty() ? null
                : factory.create(new Tier(upBackups, backups, false), options);
        this.panic = primary != null || backup != null || nonDraining.isEmpty() ? null
                : factory.create(new Tier(nonDraining, nonDraining, true), options);
    }

    @Override
    public PickResult pick(PickContext ctx) {
        EndpointState e;
        if (primary != null && (e = primary.select(ctx, true)) != null) {
            return e.result;
        }
        if (backup != null && (e = backup.select(ctx, true)) != null) {
            return e.result;
        }
        if (panic != null) {
            e = panic.select(ctx, true);
            if (e == null) {
                e = panic.select(ctx, false);
            }
            return e == null ? null : e.panicResult;
        }
        if (primary != null && (e = primary.select(ctx, false)) != null) {
            return e.result;
        }
        if (backup != null && (e = backup.select(ctx, false)) != null) {
            return e.result;
        }
        return liveFallback(ctx);
    }

    /** The snapshot is stale: what it had up went down before the rebuild. Rare, so a plain scan. */
    private PickResult liveFallback(PickContext ctx) {
        EndpointState upBackup = null;
        EndpointState triedUp = null;
        EndpointState nonDraining = null;
        for (EndpointState e : endpoints) {
            Health h = e.health();
            if (h == Health.UP) {
                boolean tried = ctx.isTried(e);
                if (!tried && !e.isBackup()) {
                    return e.result;
                }
                if (!tried && upBackup == null) {
                    upBackup = e;
                }
                if (tried && triedUp == null) {
                    triedUp = e;
                }
            } else if (h == Health.DOWN && (nonDraining == null || ctx.isTried(nonDraining) && !ctx.isTried(e))) {
                nonDraining = e;
            }
        }
        if (upBackup != null) {
            return upBackup.result;
        }
        if (triedUp != null) {
            return triedUp.result;
        }
        return nonDraining == null ? null : nonDraining.panicResult;
    }

    @Override
    public String policy() {
        return policy;
    }

    @Override
    public List<EndpointState> endpoints() {
        return endpoints;
    }

    @Override
    public LoadBalancer rebuild(List<EndpointState> newEndpoints) {
        return new TieredBalancer(policy, newEndpoints, options, factory);
    }

    @Override
    public String toString() {
        return policy + endpoints;
    }
}
