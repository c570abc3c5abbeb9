package dev.turnpike.server;

import dev.turnpike.config.HandlerConfig;
import dev.turnpike.config.RouteConfig;
import dev.turnpike.handler.HandlerContext;
import dev.turnpike.http.Handler;

/**
 * Builds the terminal handler of a route. {@link #DEFAULT} builds it from the route's configuration; an
 * embedder (or a test) may pass another factory to {@link TurnpikeServer#start(dev.turnpike.config.TurnpikeConfig,
 * HandlerFactory)} to replace some routes' handlers, delegating the rest to {@link #DEFAULT}.
 */
@FunctionalInterface
public interface HandlerFactory {
    HandlerFactory DEFAULT = Handlers::create;

    Handler create(RouteConfig route, HandlerConfig config, HandlerContext context);
}
