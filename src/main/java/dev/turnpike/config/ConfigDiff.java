package dev.turnpike.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What changes from one configuration to another, by the parts an operator thinks in: listeners (by address),
 * sites (by name), routes (by site and name), clusters (by name), and the {@code server}, {@code access_log} and
 * {@code admin} sections. Compares {@link ConfigTree}s, so it works as well on a configuration read back from a
 * running server's {@code GET /config}. Says which fields changed, never their values (they may be secrets).
 *
 * <p>Used by a reload (its log line, the admin API's answer, and which long-running exchanges to close after the
 * grace period: {@link #affectedRoutes}) and by {@code turnpike validate --diff}.
 *
 * @param changes in the order listeners, sites, routes, clusters, then the sections
 */
public record ConfigDiff(List<Change> changes) {

    /** Settings that only take effect when the process starts. */
    static final List<String> RESTART_ONLY = List.of("event_loops", "allocator", "transport");

    public ConfigDiff {
        changes = List.copyOf(changes);
    }

    public enum Kind {
        ADDED("+"), REMOVED("-"), CHANGED("~");

        private final String sign;

        Kind(String sign) {
            this.sign = sign;
        }

        public String sign() {
            return sign;
        }
    }

    /**
     * One thing that changes.
     *
     * @param kind    added, removed or changed
     * @param section listener, site, route, cluster, server, access_log or admin
     * @param name    what it is: a listener's address, a site's or cluster's name, {@code site/route}; empty for
     *                the sections that exist once
     * @param fields  for a change, the keys that differ (dotted, e.g. {@code limits.max_connections})
     */
    public record Change(Kind kind, String section, String name, List<String> fields) {
        public Change {
            fields = List.copyOf(fields);
        }

        /** {@code ~ route default/api: path, proxy.upstream}, {@code + listener 127.0.0.1:8081}. */
        @Override
        public String toString() {
            String what = name.isEmpty() ? section : section + " " + name;
            return kind.sign() + " " + what + (fields.isEmpty() ? "" : ": " + String.join(", ", fields));
        }
    }

    public static ConfigDiff between(TurnpikeConfig before, TurnpikeConfig after) {
        return between(ConfigTree.of(before, false), ConfigTree.of(after, false));
    }

    /** Compares two {@link ConfigTree}s of whole configurations. */
    public static ConfigDiff between(Map<String, Object> before, Map<String, Object> after) {
        List<Change> out = new ArrayList<>();
        keyed(out, "listener", list(before, "listeners"), list(after, "listeners"), ConfigDiff::listenerKey);
        Map<String, Map<String, Object>> sitesBefore = byName(list(before, "sites"), s -> str(s, "name"));
        Map<String, Map<String, Object>> sitesAfter = byName(list(after, "sites"), s -> str(s, "name"));
        List<Change> routes = new ArrayList<>();
        sitesBefore.forEach((name, site) -> {
            Map<String, Object> next = sitesAfter.get(name);
            if (next == null) {
                out.add(new Change(Kind.REMOVED, "site", name, List.of()));
                return;
            }
            List<String> fields = fields(without(site, "routes"), without(next, "routes"));
            List<String> order = routeNames(site);
            List<String> nextOrder = routeNames(next);
            order.retainAll(nextOrder);
            nextOrder.retainAll(routeNames(site));
            if (!order.equals(nextOrder)) {
                fields = new ArrayList<>(fields);
                fields.add("routes (order)");
            }
            if (!fields.isEmpty()) {
                out.add(new Change(Kind.CHANGED, "site", name, fields));
            }
            keyed(routes, "route", prefixed(name, list(site, "routes")), prefixed(name, list(next, "routes")),
                    r -> str(r, "name"));
        });
        sitesAfter.forEach((name, site) -> {
            if (!sitesBefore.containsKey(name)) {
                out.add(new Change(Kind.ADDED, "site", name, List.of()));
            }
        });
        out.addAll(routes);
        keyed(out, "cluster", list(before, "clusters"), list(after, "clusters"), c -> str(c, "name"));
        for (String section : List.of("server", "access_log", "admin")) {
            List<String> fields = fields(map(before, section), map(after, section));
            if (!fields.isEmpty()) {
                out.add(new Change(Kind.CHANGED, section, "", fields));
            }
        }
        return new ConfigDiff(out);
    }

    public boolean isEmpty() {
        return changes.isEmpty();
    }

    /** The changes of one section ({@code "route"}, {@code "cluster"} ...). */
    public List<Change> of(String section) {
        return changes.stream().filter(c -> c.section().equals(section)).toList();
    }

    /** Process settings that changed but only take effect on a restart, as {@code server.event_loops}. */
    public List<String> restartNeeded() {
        List<String> out = new ArrayList<>();
        for (Change c : of("server")) {
            for (String f : c.fields()) {
                if (RESTART_ONLY.contains(f)) {
                    out.add("server." + f);
                }
            }
        }
        return out;
    }

    /** One line per change, as {@link Change#toString()}. */
    public List<String> lines() {
        return changes.stream().map(Change::toString).toList();
    }

    /** A one-line summary for logs: {@code "2 changes: ~ route default/api: path; + cluster app"}. */
    public String summary() {
        if (changes.isEmpty()) {
            return "no changes";
        }
        return changes.size() + (changes.size() == 1 ? " change: " : " changes: ") + String.join("; ", lines());
    }

    // ------------------------------------------------------------------------------------------ routes touched

    /**
     * The routes of {@code before} ({@code site/route}) that a request in flight on them should not outlive by
     * more than the grace period in {@code after}: the route changed or went away (with its site), or a cluster it
     * sends requests to changed or went away. A change of the mirror does not count.
     */
    public static Set<String> affectedRoutes(Map<String, Object> before, Map<String, Object> after) {
        Map<String, Map<String, Object>> clustersAfter = byName(list(after, "clusters"), c -> str(c, "name"));
        Set<String> changedClusters = new LinkedHashSet<>();
        for (Map<String, Object> c : list(before, "clusters")) {
            if (!Objects.equals(c, clustersAfter.get(str(c, "name")))) {
                changedClusters.add(str(c, "name"));
            }
        }
        Map<String, Map<String, Object>> sitesAfter = byName(list(after, "sites"), s -> str(s, "name"));
        Set<String> out = new LinkedHashSet<>();
        for (Map<String, Object> site : list(before, "sites")) {
            String siteName = str(site, "name");
            Map<String, Map<String, Object>> routesAfter = byName(list(sitesAfter.get(siteName), "routes"),
                    r -> str(r, "name"));
            for (Map<String, Object> route : list(site, "routes")) {
                String name = str(route, "name");
                if (!Objects.equals(route, routesAfter.get(name)) || usesAny(route, changedClusters)) {
                    out.add(siteName + "/" + name);
                }
            }
        }
        return out;
    }

    private static boolean usesAny(Map<String, Object> route, Set<String> clusters) {
        if (clusters.isEmpty() || !(route.get("handler") instanceof Map<?, ?> handler)) {
            return false;
        }
        if (clusters.contains(String.valueOf(handler.get("cluster")))) {
            return true;
        }
        if (handler.get("split") instanceof List<?> legs) {
            for (Object leg : legs) {
                if (leg instanceof Map<?, ?> m && clusters.contains(String.valueOf(m.get("cluster")))) {
                    return true;
                }
            }
        }
        return false;
    }

    // ------------------------------------------------------------------------------------------ comparing

    /** Adds, removes and changes between two lists of named things. */
    private static void keyed(List<Change> out, String section, List<Map<String, Object>> before,
                              List<Map<String, Object>> after,
                              java.util.function.Function<Map<String, Object>, String> key) {
        Map<String, Map<String, Object>> b = byName(before, key);
        Map<String, Map<String, Object>> a = byName(after, key);
        b.forEach((k, v) -> {
            Map<String, Object> next = a.get(k);
            if (next == null) {
                out.add(new Change(Kind.REMOVED, section, k, List.of()));
            } else {
                List<String> fields = fields(v, next);
                if (!fields.isEmpty()) {
                    out.add(new Change(Kind.CHANGED, section, k, fields));
                }
            }
        });
        a.forEach((k, v) -> {
            if (!b.containsKey(k)) {
                out.add(new Change(Kind.ADDED, section, k, List.of()));
            }
        });
    }

    /** The dotted keys whose values differ; lists count as one value. */
    static List<String> fields(Map<String, Object> before, Map<String, Object> after) {
        List<String> out = new ArrayList<>();
        collect(out, "", before == null ? Map.of() : before, after == null ? Map.of() : after);
        return out;
    }

    private static void collect(List<String> out, String prefix, Map<?, ?> before, Map<?, ?> after) {
        Set<Object> keys = new LinkedHashSet<>(before.keySet());
        keys.addAll(after.keySet());
        for (Object k : keys) {
            Object b = before.get(k);
            Object a = after.get(k);
            String path = prefix.isEmpty() ? String.valueOf(k) : prefix + "." + k;
            if (b instanceof Map<?, ?> bm && a instanceof Map<?, ?> am && Objects.equals(bm.get("type"), am.get("type"))) {
                collect(out, path, bm, am);
            } else if (!sameValue(b, a)) {
                out.add(path);
            }
        }
    }

    /** Equality that treats 5 and 5.0 alike (a JSON reader may give either). */
    private static boolean sameValue(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) {
            return x.doubleValue() == y.doubleValue();
        }
        return Objects.equals(a, b);
    }

    private static String listenerKey(Map<String, Object> l) {
        Object port = l.get("port");
        // Port 0 (an ephemeral port, in tests) is not an identity; names are unique.
        if (port instanceof Number n && n.longValue() == 0) {
            return str(l, "name");
        }
        String host = str(l, "host");
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    private static List<String> routeNames(Map<String, Object> site) {
        List<String> names = new ArrayList<>();
        for (Map<String, Object> r : list(site, "routes")) {
            names.add(str(r, "name"));
        }
        return names;
    }

    private static List<Map<String, Object>> prefixed(String site, List<Map<String, Object>> routes) {
        List<Map<String, Object>> out = new ArrayList<>(routes.size());
        for (Map<String, Object> r : routes) {
            Map<String, Object> copy = new LinkedHashMap<>(r);
            copy.put("name", site + "/" + str(r, "name"));
            out.add(copy);
        }
        return out;
    }

    private static Map<String, Object> without(Map<String, Object> m, String key) {
        Map<String, Object> copy = new LinkedHashMap<>(m);
        copy.remove(key);
        return copy;
    }

    private static Map<String, Map<String, Object>> byName(List<Map<String, Object>> items,
                                                           java.util.function.Function<Map<String, Object>, String> key) {
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        for (Map<String, Object> item : items) {
            out.putIfAbsent(key.apply(item), item);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Map<String, Object> tree, String key) {
        if (tree == null || !(tree.get(key) instanceof List<?> l)) {
            return List.of();
        }
        List<Map<String, Object>> out = new ArrayList<>(l.size());
        for (Object o : l) {
            if (o instanceof Map<?, ?> m) {
                out.add((Map<String, Object>) m);
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> tree, String key) {
        return tree != null && tree.get(key) instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }

    private static String str(Map<String, Object> m, String key) {
        return String.valueOf(m.get(key));
    }
}
