package dev.turnpike.routing;

import dev.turnpike.config.ErrorPages;

import java.util.List;

/** A compiled virtual host: its routes already in precedence order, so the first match wins. */
public record Site(String name, List<Route> routes, ErrorPages errorPages) {
    public Site {
        routes = List.copyOf(routes);
    }
}
