package dev.turnpike.config;

import java.util.List;

/**
 * A virtual host.
 *
 * @param name       stable name used in logs and metrics (defaults to the first host, or "default")
 * @param hosts      host patterns: exact ({@code example.com}), wildcard ({@code *.example.com}) or {@code *}
 *                   for the default site; empty also means default
 * @param routes     routes in file order (the router ranks them, see docs/configuration.md)
 * @param errorPages custom bodies for errors Turnpike generates on this site
 */
public record SiteConfig(String name, List<String> hosts, List<RouteConfig> routes, ErrorPages errorPages,
                         SourcePosition position) {
    public SiteConfig {
        hosts = List.copyOf(hosts);
        routes = List.copyOf(routes);
    }

    public boolean isDefault() {
        return hosts.isEmpty() || hosts.contains("*");
    }
}
