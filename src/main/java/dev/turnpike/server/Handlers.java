package dev.turnpike.server;

import dev.turnpike.config.HandlerConfig;
import dev.turnpike.config.RouteConfig;
import dev.turnpike.handler.HandlerContext;
import dev.turnpike.handler.RedirectHandler;
import dev.turnpike.handler.RespondHandler;
import dev.turnpike.http.Handler;
import dev.turnpike.proxy.ProxyHandler;
import dev.turnpike.staticfiles.StaticFileHandler;

/** Builds the terminal handler of a route from its configuration. */
final class Handlers {
    private Handlers() {}

    static Handler create(RouteConfig route, HandlerConfig config, HandlerContext context) {
        return switch (config) {
            case HandlerConfig.Static s -> new StaticFileHandler(s, context);
            case HandlerConfig.Proxy p -> new ProxyHandler(p, context);
            case HandlerConfig.Respond r -> new RespondHandler(r);
            case HandlerConfig.Redirect r -> new RedirectHandler(r);
        };
    }
}
