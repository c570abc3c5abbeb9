package dev.turnpike.admin;

import dev.turnpike.config.TurnpikeConfig;
import dev.turnpike.reload.ReloadResult;
import dev.turnpike.routing.Router;
import dev.turnpike.upstream.cluster.Clusters;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/** What the admin API reads from and asks of the running server (the server implements it). */
public interface AdminTarget {

    /**
     * The configuration serving new requests now, with its router and clusters (all three from one snapshot).
     */
    record Serving(TurnpikeConfig config, Router router, Clusters clusters) {}

    Serving serving();

    /** Why the server should not get traffic now (shutting down, a listener not bound), or empty when it is ready. */
    Optional<String> notReady();

    /** Reloads the configuration from its file, as SIGHUP does; completes with the outcome. */
    CompletableFuture<ReloadResult> reload(String trigger);
}
