package dev.turnpike.server;

import dev.turnpike.accesslog.AccessLog;
import dev.turnpike.accesslog.AccessLogs;
import dev.turnpike.config.HandlerConfig;
import dev.turnpike.config.ServerSettings;
import dev.turnpike.config.TurnpikeConfig;
import dev.turnpike.handler.HandlerContext;
import dev.turnpike.http.ErrorResponder;
import dev.turnpike.http.Handler;
import dev.turnpike.http.HttpServices;
import dev.turnpike.metrics.Metrics;
import dev.turnpike.routing.Router;
import dev.turnpike.upstream.cluster.ClusterRuntime;
import dev.turnpike.upstream.cluster.Clusters;
import io.netty.util.AsciiString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A configuration compiled for serving: routing tables, handler instances, clusters and the access log. Exchanges
 * capture the snapshot current when they start and count themselves in it; a reload swaps in a new one and retires
 * the old, which closes when its last exchange is over.
 */
public final class Snapshot implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Snapshot.class);

    private final TurnpikeConfig config;
    private final Router router;
    private final HttpServices services;

    private final Clusters clusters;
    private final InFlight inFlight;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Snapshot(TurnpikeConfig config, Router router, HttpServices services, Clusters clusters,
                     InFlight inFlight) {
        this.config = config;
        this.router = router;
        this.services = services;
        this.clusters = clusters;
        this.inFlight = inFlight;
    }

    public static Snapshot compile(TurnpikeConfig config, HandlerContext context) {
        return compile(config, context, HandlerFactory.DEFAULT);
    }

    public static Snapshot compile(TurnpikeConfig config, HandlerContext context, HandlerFactory handlers) {
        return compile(config, context, handlers, null);
    }

    /**
     * Builds the snapshot's clusters (before the handlers, which resolve their cluster once), the routes and the
     * access log, then starts the clusters' health checks. Whatever was built is closed when a later part fails.
     *
     * @param previous the snapshot serving now when this one is for a reload, else null: its clusters whose
     *                 definition is unchanged are carried over with their health and connection pools
     */
    public static Snapshot compile(TurnpikeConfig config, HandlerContext context, HandlerFactory handlers,
                                   Snapshot previous) {
        Clusters clusters = config.clusters().isEmpty() || context.group() == null ? Clusters.EMPTY
                : Clusters.build(config.clusters(), context.group(), context.socketChannelClass(),
                        context.blockingExecutor(), previous == null ? Clusters.EMPTY : previous.clusters);
        Router router = null;
        try {
            HandlerContext withClusters = context.withClusters(clusters);
            Metrics metrics = context.metrics();
            router = Router.compile(config.sites(), (route, handler) -> handlers.create(route, handler, withClusters),
                    (site, route) -> metrics == null ? null
                            : metrics.route(site.name(), route.name(), clusterNames(route.handler(), clusters)));
            ServerSettings s = config.server();
            AccessLog accessLog = AccessLogs.open(config.accessLog());
            InFlight inFlight = new InFlight(context.group());
            HttpServices services = new HttpServices(router, new ErrorResponder(), accessLog,
                    s.serverHeader().map(AsciiString::cached).orElse(null),
                    AsciiString.cached(s.requestIdHeader()), s.trustedProxies(), clientSubjectHeaders(config),
                    inFlight);
            clusters.start();
            return new Snapshot(config, router, services, clusters, inFlight);
        } catch (RuntimeException e) {
            if (router != null) {
                closeHandlers(router);
            }
            clusters.close();
            throw e;
        }
    }

    /**
     * The clusters a route may proxy to (its {@code cluster} or {@code split} legs, not its mirror), as the cluster
     * runtimes name them: the proxy reports that very instance, so the route's meter finds it by identity.
     */
    static List<String> clusterNames(HandlerConfig handler, Clusters clusters) {
        if (!(handler instanceof HandlerConfig.Proxy p)) {
            return List.of();
        }
        List<String> names = new ArrayList<>();
        p.cluster().ifPresent(names::add);
        p.split().forEach(leg -> names.add(leg.cluster()));
        List<String> out = new ArrayList<>(names.size());
        for (String n : names) {
            ClusterRuntime c = clusters.get(n);
            String name = c != null ? c.name() : n;
            if (!out.contains(name)) {
                out.add(name);
            }
        }
        return out;
    }

    /** Every header any listener uses to pass a client certificate subject upstream, lower case, once each. */
    static List<AsciiString> clientSubjectHeaders(TurnpikeConfig config) {
        java.util.Set<AsciiString> out = new java.util.LinkedHashSet<>();
        for (var listener : config.listeners()) {
            listener.tls().ifPresent(tls -> tls.certificates().forEach(c -> c.clientAuth()
                    .flatMap(a -> a.subjectHeader())
                    .ifPresent(h -> out.add(AsciiString.cached(h.toLowerCase(java.util.Locale.ROOT))))));
        }
        return List.copyOf(out);
    }

    public TurnpikeConfig config() {
        return config;
    }

    public Router router() {
        return router;
    }

    public HttpServices services() {
        return services;
    }

    public Clusters clusters() {
        return clusters;
    }

    /** Exchanges that started on this snapshot and are not over yet (approximate while they change). */
    public int exchangesInFlight() {
        return inFlight.count();
    }

    /**
     * A newer snapshot serves new exchanges from now on. The clusters are released at once: the parts a newer
     * snapshot carried over stay, the others stop their health checks and keep no idle connection, while the exchanges
     * still running on them finish normally. The rest (handlers, access log) is closed on {@code closer} once the last
     * exchange that started on this snapshot is over; then {@code closed} runs.
     */
    void retire(Executor closer, Runnable closed) {
        try {
            clusters.close();
        } catch (RuntimeException e) {
            LOG.warn("releasing the clusters of a retired configuration failed", e);
        }
        inFlight.retire(() -> {
            try {
                closer.execute(() -> {
                    close();
                    closed.run();
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // The server is stopping: it closes every snapshot itself.
            }
        });
    }

    /**
     * Closes the handlers, then the clusters (their health checks and connection pools), then the access log.
     * Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        closeHandlers(router);
        try {
            clusters.close();
        } catch (RuntimeException e) {
            LOG.warn("closing clusters failed", e);
        }
        services.accessLog().close();
    }

    private static void closeHandlers(Router router) {
        for (Handler h : router.handlers()) {
            try {
                h.close();
            } catch (RuntimeException e) {
                LOG.warn("closing handler failed", e);
            }
        }
    }
}
