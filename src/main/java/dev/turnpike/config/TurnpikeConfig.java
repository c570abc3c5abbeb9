package dev.turnpike.config;

import java.util.List;

/**
 * A whole validated configuration: what one running Turnpike serves. Immutable; a reload builds a new one.
 *
 * @param source    file the configuration was read from, or {@code <embedded>}
 * @param server    process-wide settings
 * @param listeners addresses to accept connections on, each with its own limits and timeouts
 * @param sites     virtual hosts, each with its routes; every site is served on every listener
 * @param accessLog where and how requests are logged
 * @param clusters  named upstream clusters that proxy routes refer to, in file order
 * @param admin     the admin API's listener
 */
public record TurnpikeConfig(
        String source,
        ServerSettings server,
        List<ListenerConfig> listeners,
        List<SiteConfig> sites,
        AccessLogConfig accessLog,
        List<ClusterConfig> clusters,
        AdminConfig admin) {

    public TurnpikeConfig {
        listeners = List.copyOf(listeners);
        sites = List.copyOf(sites);
        clusters = List.copyOf(clusters);
    }

    /** Without an admin listener. */
    public TurnpikeConfig(String source, ServerSettings server, List<ListenerConfig> listeners, List<SiteConfig> sites,
                          AccessLogConfig accessLog, List<ClusterConfig> clusters) {
        this(source, server, listeners, sites, accessLog, clusters, AdminConfig.disabled());
    }

    public java.util.Optional<ClusterConfig> cluster(String name) {
        return clusters.stream().filter(c -> c.name().equals(name)).findFirst();
    }
}
