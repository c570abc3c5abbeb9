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

/**
 * A configuration compiled for serving: routing tables, handler instances and the access log. Requests
 * capture the snapshot current when they start; a reload swaps in a new one and retires the old.
 */
public final class Snapshot implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Snapshot.class);

    private final TurnpikeConfig config;
    private final Router router;
    private final HttpServices services;

    private final Clusters clusters;

    private Snapshot(TurnpikeConfig config, Router router, HttpServices services, Clusters clusters) {
        this.config = config;
        this.router = router;
        this.services = services;
        this.clusters = clusters;
    }

    public static Snapshot compile(TurnpikeConfig config, HandlerContext context) {
        return compile(config, context, HandlerFactory.DEFAULT);
    }

    /**
     * Builds the snapshot's clusters (before the handlers, which resolve their cluster once), the routes and the
     * access log, then starts the clusters' health checks. Whatever was built is closed when a later part fails.
     */
    public static Snapshot compile(TurnpikeConfig config, HandlerContext context, HandlerFactory handlers) {
        Clusters clusters = config.clusters().isEmpty() || context.group() == null ? Clusters.EMPTY
                : Clusters.build(config.clusters(), context.group(), context.socketChannelClass(),
                        context.blockingExecutor());
        Router router = null;
        try {
            HandlerContext withClusters = context.withClusters(clusters);
            Metrics metrics = context.metrics();
            router = Router.compile(config.sites(), (route, handler) -> handlers.create(route, handler, withClusters),
                    (site, route) -> metrics == null ? null
                            : metrics.route(site.name(), route.name(), clusterNames(route.handler(), clusters)));
            ServerSettings s = config.server();
            AccessLog accessLog = AccessLogs.open(config.accessLog());
            HttpServices services = new HttpServices(router, new ErrorResponder(), accessLog,
                    s.serverHeader().map(AsciiString::cached).orElse(null),
                    AsciiString.cached(s.requestIdHeader()), s.trustedProxies(), clientSubjectHeaders(config));
            clusters.start();
            return new Snapshot(config, router, services, clusters);
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

    /** Closes the handlers, then the clusters (their health checks and connection pools), then the access log. */
    @Override
    public void close() {
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
