package dev.turnpike.config;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One route of a site: conditions, then exactly one terminal handler.
 *
 * @param name       stable name for logs and metrics (defaults to "{site}#{index}")
 * @param path       path condition; empty matches every path
 * @param methods    allowed methods (upper case); empty matches every method
 * @param headers    header conditions: name → exact value, or "*" for "present"
 * @param handler    what answers the request
 * @param errorPages custom error bodies for this route (falls back to the site's)
 */
public record RouteConfig(String name, Optional<PathMatch> path, List<String> methods, Map<String, String> headers,
                          HandlerConfig handler, ErrorPages errorPages, SourcePosition position) {
    public RouteConfig {
        methods = List.copyOf(methods);
        headers = Map.copyOf(headers);
    }
}
