package dev.turnpike.server;

import dev.turnpike.accesslog.AccessLog;
import dev.turnpike.accesslog.AccessLogs;
import dev.turnpike.config.ServerSettings;
import dev.turnpike.config.TurnpikeConfig;
import dev.turnpike.handler.HandlerContext;
import dev.turnpike.http.ErrorResponder;
import dev.turnpike.http.Handler;
import dev.turnpike.http.HttpServices;
import dev.turnpike.routing.Router;
import io.netty.util.AsciiString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A configuration compiled for serving: routing tables, handler instances and the access log. Requests
 * capture the snapshot current when they start; a reload swaps in a new one and retires the old.
 */
public final class Snapshot implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Snapshot.class);

    private final TurnpikeConfig config;
    private final Router router;
    private final HttpServices services;

    private Snapshot(TurnpikeConfig config, Router router, HttpServices services) {
        this.config = config;
        this.router = router;
        this.services = services;
    }

    public static Snapshot compile(TurnpikeConfig config, HandlerContext context) {
        return compile(config, context, HandlerFactory.DEFAULT);
    }

    public static Snapshot compile(TurnpikeConfig config, HandlerContext context, HandlerFactory handlers) {
        Router router = Router.compile(config.sites(), (route, handler) -> handlers.create(route, handler, context));
        ServerSettings s = config.server();
        AccessLog accessLog = AccessLogs.open(config.accessLog());
        HttpServices services = new HttpServices(router, new ErrorResponder(), accessLog,
                s.serverHeader().map(AsciiString::cached).orElse(null),
                AsciiString.cached(s.requestIdHeader()), s.trustedProxies());
        return new Snapshot(config, router, services);
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

    @Override
    public void close() {
        for (Handler h : router.handlers()) {
            try {
                h.close();
            } catch (RuntimeException e) {
                LOG.warn("closing handler failed", e);
            }
        }
        services.accessLog().close();
    }
}
