package dev.turnpike.config;

import dev.turnpike.config.ClusterConfig.ActiveCheck;
import dev.turnpike.config.ClusterConfig.Address;
import dev.turnpike.config.ClusterConfig.EndpointConfig;
import dev.turnpike.config.ClusterConfig.Health;
import dev.turnpike.config.ClusterConfig.LoadBalancing;
import dev.turnpike.config.ClusterConfig.OutlierDetection;
import dev.turnpike.config.ClusterConfig.Pool;
import dev.turnpike.config.ClusterConfig.Retries;
import dev.turnpike.config.ClusterConfig.Sticky;
import dev.turnpike.config.ClusterConfig.Timeouts;
import dev.turnpike.config.ConfigReader.Fields;
import dev.turnpike.tls.CertificateFiles;
import dev.turnpike.upstream.UpstreamProtocol;
import dev.turnpike.upstream.lb.HashKey;
import dev.turnpike.upstream.lb.LoadBalancers;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the top-level {@code clusters} section (see docs/configuration.md, "Clusters") in the style of
 * {@link ConfigLoader}: every problem is recorded with its position and reading carries on.
 */
final class ClusterLoader {

    // ---------------------------------------------------------------------------------------------- schema

    static final List<String> CLUSTER_KEYS = List.of("endpoints", "protocol", "tls", "load_balancing", "slow_start",
            "dns_refresh", "pool", "timeouts", "health", "retries", "limits");
    static final List<String> TLS_KEYS = List.of("ca", "server_name", "verify", "client_certificate", "client_key",
            "client_key_password");
    static final List<String> PROTOCOLS = List.of("http1", "h2c", "h2");
    static final List<String> ENDPOINT_KEYS = List.of("address", "weight", "backup");
    static final List<String> LB_KEYS = List.of("policy", "hash_key", "hash_table", "cookie", "fallback", "max_age");
    static final List<String> STICKY_KEYS = List.of("cookie", "fallback", "max_age");
    static final List<String> POOL_KEYS = List.of("max_connections", "max_pending", "pending_timeout", "idle_timeout",
            "max_idle", "max_requests_per_connection", "max_connection_lifetime");
    static final List<String> TIMEOUT_KEYS = List.of("connect", "send", "first_byte", "idle", "total");
    static final List<String> HEALTH_KEYS = List.of("active", "passive");
    static final List<String> ACTIVE_KEYS = List.of("type", "path", "host", "expected_status", "body_contains",
            "service", "interval", "timeout", "rise", "fall", "jitter");
    static final List<String> HTTP_CHECK_KEYS = List.of("path", "host", "expected_status", "body_contains");
    static final List<String> PASSIVE_KEYS = List.of("consecutive_5xx", "consecutive_connect_failures",
            "base_ejection_time", "max_ejection_time", "max_ejection_percent");
    static final List<String> RETRY_KEYS = List.of("attempts", "on", "budget", "min_concurrent", "buffer_body");
    static final List<String> LIMIT_KEYS = List.of("max_connections", "max_pending", "max_requests");
    static final List<String> RETRY_ON = List.of("connect_failure", "reset", "timeout");
    /** Policies that hash a request key: they need {@code hash_key}. */
    static final List<String> HASH_POLICIES = List.of(LoadBalancers.CONSISTENT_HASH, "ring_hash", "maglev");
    static final String STICKY = "sticky";
    static final String DEFAULT_POLICY = "round_robin";
    static final String DEFAULT_STICKY_COOKIE = "tp_sticky";
    static final int MAX_WEIGHT = 1000;
    /** Largest request body kept for retries: 1GiB (bodies are buffered in memory). */
    static final long MAX_BUFFER_BODY = 1024L * 1024 * 1024;
    /** Longest Unix socket path Linux accepts (sun_path is 108 bytes including the terminating NUL). */
    static final int MAX_UNIX_PATH_BYTES = 107;

    private static final Pattern NAME = Pattern.compile("[a-z0-9_-]+");
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+\\-.^_`|~0-9A-Za-z]+");
    private static final Pattern HOST_HEADER =
            Pattern.compile("(\\[[0-9A-Fa-f:.]+]|[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?)(:[0-9]{1,5})?");
    private static final Pattern SERVER_NAME =
            Pattern.compile("[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*");
    private static final Pattern STATUS_RANGE = Pattern.compile("([0-9]{1,3})(?:\\s*-\\s*([0-9]{1,3}))?");

    private static final Map<String, String> CLUSTER_HINTS = clusterHints();
    private static final Map<String, String> HEALTH_HINTS = homes(Map.of("active", ACTIVE_KEYS, "passive", PASSIVE_KEYS));

    private static Map<String, String> homes(Map<String, List<String>> homes) {
        Map<String, String> out = new HashMap<>();
        homes.forEach((home, keys) -> keys.forEach(k -> out.putIfAbsent(k, home)));
        return out;
    }

    private static Map<String, String> clusterHints() {
        Map<String, String> out = new HashMap<>(homes(Map.of(
                "load_balancing", LB_KEYS, "timeouts", TIMEOUT_KEYS, "health", HEALTH_KEYS, "retries", RETRY_KEYS,
                "health.active", ACTIVE_KEYS, "health.passive", PASSIVE_KEYS, "endpoints[]", ENDPOINT_KEYS)));
        for (String k : POOL_KEYS) {
            out.put(k, "pool");
        }
        out.put("max_connections", "pool or limits");
        out.put("max_pending", "pool or limits");
        out.put("max_requests", "limits");
        return out;
    }

    /** Where keys of a cluster belong when they are written at the top level or in a route's proxy. */
    static final String CLUSTER_HOME = "clusters.<name>";

    // ---------------------------------------------------------------------------------------------- result

    /**
     * @param clusters valid clusters, in file order
     * @param declared every name written under {@code clusters}, even of a cluster with problems (so that routes
     *                 naming it are not reported a second time)
     * @param checkable false when the section itself was unreadable: references cannot be checked
     */
    record Clusters(List<ClusterConfig> clusters, Set<String> declared, boolean checkable) {
        static final Clusters NONE = new Clusters(List.of(), Set.of(), true);
    }

    // ---------------------------------------------------------------------------------------------- reading

    private final ConfigReader r;
    private final Path baseDir;

    ClusterLoader(ConfigReader reader, Path baseDir) {
        this.r = reader;
        this.baseDir = baseDir;
    }

    Clusters read(Node node, String path) {
        if (ConfigReader.isNull(node)) {
            return Clusters.NONE;
        }
        if (!(node instanceof MappingNode)) {
            r.problem(node, path, "expected a mapping from cluster names to clusters, e.g. clusters: { api:"
                    + " { endpoints: [\"127.0.0.1:3000\"] } }; got " + ConfigReader.describe(node)
                    + ConfigReader.quoteHint(node));
            return new Clusters(List.of(), Set.of(), false);
        }
        Fields f = r.map(node, path, null);
        List<ClusterConfig> out = new ArrayList<>();
        Set<String> declared = new LinkedHashSet<>(f.keys());
        for (String name : f.keys()) {
            boolean validName = NAME.matcher(name).matches();
            if (!validName) {
                r.problem(f.keyNode(name), f.path(name), "a cluster name is lower-case letters, digits, '_' and '-'"
                        + suggestedName(name) + "; got '" + name + "'");
            }
            int before = r.problemCount();
            ClusterConfig c = cluster(name, f.keyNode(name), f.value(name), f.path(name));
            if (c != null && validName && r.problemCount() == before) {
                out.add(c);
            }
        }
        return new Clusters(out, declared, true);
    }

    private static String suggestedName(String name) {
        String s = name.strip().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_-]+", "-");
        return NAME.matcher(s).matches() ? ", such as '" + s + "'" : "";
    }

    private ClusterConfig cluster(String name, Node keyNode, Node node, String path) {
        if (ConfigReader.isScalar(node) || node instanceof SequenceNode) {
            r.problem(node, path, "expected a cluster: a mapping with at least 'endpoints', e.g. " + name
                    + ": { endpoints: [\"127.0.0.1:3000\"] }; got " + ConfigReader.describe(node));
            return null;
        }
        Fields f = r.map(node, path, CLUSTER_KEYS, CLUSTER_HINTS);
        if (f == null) {
            return null;
        }
        Schemes schemes = new Schemes();
        List<EndpointConfig> endpoints = endpoints(f, schemes);
        UpstreamProtocol protocol = f.has("protocol") ? protocol(f.value("protocol"), f.path("protocol"))
                : UpstreamProtocol.HTTP1;
        Optional<ClusterConfig.Tls> tls = tls(f, schemes, protocol);
        LoadBalancing lb = f.has("load_balancing") ? loadBalancing(f.value("load_balancing"), f.path("load_balancing"))
                : LoadBalancing.defaults();
        Duration slowStart = f.get("slow_start", Duration.ZERO, (n, p) -> r.duration(n, p, true));
        Duration dnsRefresh = f.get("dns_refresh", Duration.ofSeconds(30), r::duration);
        Pool pool = f.has("pool") ? pool(f.value("pool"), f.path("pool")) : Pool.defaults();
        Timeouts timeouts = f.has("timeouts") ? timeouts(f.value("timeouts"), f.path("timeouts")) : Timeouts.defaults();
        Health health = f.has("health") ? health(f.value("health"), f.path("health"), protocol) : Health.none();
        Retries retries = f.has("retries") ? retries(f.value("retries"), f.path("retries")) : Retries.defaults();
        ClusterConfig.Limits limits = f.has("limits") ? limits(f.value("limits"), f.path("limits"))
                : ClusterConfig.Limits.defaults();
        return new ClusterConfig(name, endpoints, lb, slowStart, dnsRefresh, pool, timeouts, health, retries, limits,
                r.pos(keyNode), protocol, tls);
    }

    private UpstreamProtocol protocol(Node node, String path) {
        return r.choice(node, path, PROTOCOLS).map(s -> UpstreamProtocol.valueOf(s.toUpperCase(Locale.ROOT)))
                .orElse(UpstreamProtocol.HTTP1);
    }

    // ---------------------------------------------------------------------------------------------- tls

    /** Where the endpoints' URL schemes were written: a cluster speaks TLS to all of its endpoints or to none. */
    private static final class Schemes {
        Node firstHttp;
        String firstHttpPath;
        Node firstHttps;
        String firstHttpsPath;
    }

    /**
     * The cluster's TLS: the {@code tls} block (or {@code tls: true}), implied by https:// endpoints and by protocol
     * h2; files are read and checked now so that problems point at the line that names them.
     */
    private Optional<ClusterConfig.Tls> tls(Fields f, Schemes schemes, UpstreamProtocol protocol) {
        if (schemes.firstHttp != null && schemes.firstHttps != null) {
            r.problem(schemes.firstHttp, schemes.firstHttpPath, "a cluster speaks TLS to all of its endpoints or to"
                    + " none, but " + schemes.firstHttpsPath + " is https:// and this one is http://; split them into"
                    + " two clusters");
        }
        boolean implied = schemes.firstHttps != null || protocol == UpstreamProtocol.H2;
        Optional<ClusterConfig.Tls> tls;
        if (!f.has("tls")) {
            tls = implied ? Optional.of(ClusterConfig.Tls.defaults()) : Optional.empty();
        } else if (ConfigReader.isScalar(f.value("tls"))) {
            Optional<Boolean> on = r.bool(f.value("tls"), f.path("tls"));
            if (on.isPresent() && !on.get() && implied) {
                r.problem(f.value("tls"), f.path("tls"), "tls: false contradicts "
                        + (schemes.firstHttps != null ? "the https:// endpoint at " + schemes.firstHttpsPath
                        : "protocol: h2, which is HTTP/2 over TLS") + "; remove it");
            }
            tls = on.orElse(false) || implied ? Optional.of(ClusterConfig.Tls.defaults()) : Optional.empty();
        } else {
            tls = tlsBlock(f.value("tls"), f.path("tls"));
        }
        if (tls.isPresent() && protocol == UpstreamProtocol.H2C) {
            r.problem(f.has("tls") ? f.keyNode("tls") : schemes.firstHttps, f.has("tls") ? f.path("tls")
                    : schemes.firstHttpsPath, "h2c is HTTP/2 over cleartext; for HTTP/2 over TLS write protocol: h2");
        }
        return tls;
    }

    private Optional<ClusterConfig.Tls> tlsBlock(Node node, String path) {
        Fields f = r.map(node, path, TLS_KEYS);
        if (f == null) {
            return Optional.empty();
        }
        int before = r.problemCount();
        Optional<Path> ca = f.has("ca") ? file(f.value("ca"), f.path("ca")) : Optional.empty();
        if (ca.isPresent()) {
            try {
                CertificateFiles.readCaBundle(ca.get());
            } catch (CertificateFiles.Problem p) {
                r.problem(f.value("ca"), f.path("ca"), p.getMessage());
            }
        }
        Optional<String> serverName = f.has("server_name") ? r.parsed(f.value("server_name"), f.path("server_name"),
                "a host name such as api.internal", ClusterLoader::serverName) : Optional.empty();
        boolean verify = f.get("verify", true, r::bool);
        if (!verify && (f.has("ca") || f.has("server_name"))) {
            String key = f.has("ca") ? "ca" : "server_name";
            r.problem(f.keyNode(key), f.path(key), "'" + key + "' is only used to verify the endpoints'"
                    + " certificates, and verify: false turns that off; remove one of them");
        }
        Optional<Path> cert = f.has("client_certificate")
                ? file(f.value("client_certificate"), f.path("client_certificate")) : Optional.empty();
        Optional<Path> key = f.has("client_key") ? file(f.value("client_key"), f.path("client_key")) : Optional.empty();
        Optional<String> password = f.has("client_key_password") ? r.string(f.value("client_key_password"),
                f.path("client_key_password"), "the password of the client key") : Optional.empty();
        if (f.has("client_certificate") != f.has("client_key")) {
            String missing = f.has("client_certificate") ? "client_key" : "client_certificate";
            r.problem(f.node, f.path(missing), "missing; a client certificate needs both client_certificate (the PEM"
                    + " chain) and client_key (its private key)");
        } else if (f.has("client_key_password") && !f.has("client_key")) {
            r.problem(f.keyNode("client_key_password"), f.path("client_key_password"), "there is no client_key to"
                    + " decrypt; add client_certificate and client_key, or remove it");
        }
        if (cert.isPresent() && key.isPresent()) {
            try {
                CertificateFiles.load(cert.get(), key.get(), password.orElse(null));
            } catch (CertificateFiles.Problem p) {
                String k = p.which() == CertificateFiles.Which.KEY ? "client_key" : "client_certificate";
                r.problem(f.value(k), f.path(k), p.getMessage());
            }
        }
        if (r.problemCount() != before) {
            return Optional.empty();
        }
        return Optional.of(new ClusterConfig.Tls(ca, serverName, verify, cert, key, password));
    }

    /** A DNS name for SNI and certificate checks; not an IP address (SNI cannot carry one). */
    static String serverName(String text) {
        String s = text.strip().toLowerCase(Locale.ROOT);
        if (s.endsWith(".")) {
            s = s.substring(0, s.length() - 1);
        }
        if (io.netty.util.NetUtil.isValidIpV4Address(s) || io.netty.util.NetUtil.isValidIpV6Address(s)) {
            throw new IllegalArgumentException("a server name is a DNS name, not an address (SNI cannot carry one);"
                    + " leave server_name out to check the certificate against the endpoint's address");
        }
        if (!SERVER_NAME.matcher(s).matches()) {
            throw new IllegalArgumentException("expected a host name such as api.internal (no port, no scheme); got '"
                    + text + "'");
        }
        return s;
    }

    private Optional<Path> file(Node node, String path) {
        Optional<String> text = r.string(node, path, "a file path").map(String::strip);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        if (text.get().isEmpty()) {
            r.problem(node, path, "expected a file path, got an empty string");
            return Optional.empty();
        }
        try {
            return Optional.of(baseDir.resolve(text.get()).toAbsolutePath().normalize());
        } catch (InvalidPathException e) {
            r.problem(node, path, "not a valid file path: " + e.getReason());
            return Optional.empty();
        }
    }

    // ---------------------------------------------------------------------------------------------- endpoints

    private List<EndpointConfig> endpoints(Fields f, Schemes schemes) {
        String path = f.path("endpoints");
        if (!f.has("endpoints")) {
            r.problem(f.node, path, "missing; expected a list of endpoints such as [\"127.0.0.1:3000\"]");
            return List.of();
        }
        Node value = f.value("endpoints");
        List<Node> items = r.list(value, path, true, "endpoints such as \"127.0.0.1:3000\"");
        if (items == null) {
            return List.of();
        }
        if (items.isEmpty()) {
            r.problem(ConfigReader.isNull(value) ? f.keyNode("endpoints") : value, path,
                    "no endpoints; list at least one, e.g. [\"127.0.0.1:3000\"]");
            return List.of();
        }
        boolean single = !(value instanceof SequenceNode);
        List<EndpointConfig> out = new ArrayList<>();
        Map<Address, String> seen = new HashMap<>();
        boolean maybePrimary = false;
        for (int i = 0; i < items.size(); i++) {
            Node item = items.get(i);
            String p = single ? path : ConfigReader.index(path, i);
            Node addressNode = item;
            String addressPath = p;
            int weight = 1;
            Optional<Boolean> backup = Optional.of(false);
            Optional<Address> address;
            if (item instanceof MappingNode) {
                Fields e = r.map(item, p, ENDPOINT_KEYS);
                addressNode = e.value("address");
                addressPath = e.path("address");
                address = e.required("address", "the endpoint's address, e.g. address: \"127.0.0.1:3000\"",
                        this::endpointAddress);
                weight = e.get("weight", 1, (n, q) -> r.int32(n, q, 1, MAX_WEIGHT));
                backup = e.has("backup") ? r.bool(e.value("backup"), e.path("backup")) : Optional.of(false);
            } else {
                address = endpointAddress(item, p);
            }
            if (address.isPresent() && addressNode instanceof ScalarNode sn) {
                String text = r.text(sn).strip().toLowerCase(Locale.ROOT);
                if (text.startsWith("https://") && schemes.firstHttps == null) {
                    schemes.firstHttps = addressNode;
                    schemes.firstHttpsPath = addressPath;
                } else if (!text.startsWith("https://") && address.get() instanceof Address.Tcp
                        && schemes.firstHttp == null && text.startsWith("http://")) {
                    schemes.firstHttp = addressNode;
                    schemes.firstHttpPath = addressPath;
                }
            }
            maybePrimary |= backup.isEmpty() || !backup.get();
            if (address.isEmpty()) {
                continue;
            }
            String first = seen.putIfAbsent(address.get(), p);
            if (first != null) {
                r.problem(addressNode, addressPath, "duplicate endpoint: " + describe(address.get())
                        + " is already listed at " + first);
                continue;
            }
            out.add(new EndpointConfig(address.get(), weight, backup.orElse(false), r.pos(item)));
        }
        if (!maybePrimary) {
            r.problem(value, path, "no primary endpoint: every endpoint is a backup, and backups only take requests"
                    + " while no primary is healthy; make at least one endpoint a primary (remove backup: true)");
        }
        return out;
    }

    private static String describe(Address a) {
        return switch (a) {
            case Address.Tcp t -> (t.host().indexOf(':') >= 0 ? "[" + t.host() + "]" : t.host()) + ":" + t.port();
            case Address.Unix u -> "unix:" + u.path();
        };
    }

    private Optional<Address> endpointAddress(Node node, String path) {
        return r.parsed(node, path, "an endpoint such as \"127.0.0.1:3000\"", this::parseEndpoint);
    }

    /** {@code host:port}, {@code [ipv6]:port}, {@code http://host[:port][/]} or {@code unix:/path}. */
    Address parseEndpoint(String text) {
        String s = text.strip();
        if (s.isEmpty()) {
            throw new IllegalArgumentException(ConfigLoader.ENDPOINT_EXPECTED + ", got an empty string");
        }
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.startsWith("unix:")) {
            return unixSocket(s, s.substring("unix:".length()));
        }
        int scheme = lower.indexOf("://");
        if (scheme >= 0) {
            return urlEndpoint(s, lower.substring(0, scheme));
        }
        ConfigLoader.Address a = ConfigLoader.parseAddress(s, true);
        return new Address.Tcp(a.host(), a.port());
    }

    private Address unixSocket(String text, String rest) {
        String p = rest.strip();
        if (p.startsWith("///")) {
            p = p.substring(2); // unix:///run/app.sock, the URL spelling
        } else if (p.startsWith("//")) {
            throw new IllegalArgumentException("write the socket path after 'unix:', as in unix:/run/app.sock or"
                    + " unix:relative/app.sock; got '" + text + "'");
        }
        if (p.isEmpty()) {
            throw new IllegalArgumentException("expected a socket path after 'unix:', e.g. unix:/run/app.sock");
        }
        Path file;
        try {
            file = baseDir.resolve(p).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("not a valid socket path: " + e.getReason());
        }
        int bytes = file.toString().getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_UNIX_PATH_BYTES) {
            throw new IllegalArgumentException("the socket path " + file + " is " + bytes + " bytes long; Unix socket"
                    + " paths can be at most " + MAX_UNIX_PATH_BYTES + " bytes");
        }
        return new Address.Unix(file);
    }

    private Address urlEndpoint(String text, String scheme) {
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("unsupported scheme '" + scheme + "'; " + ConfigLoader.ENDPOINT_EXPECTED
                    + ", got '" + text + "'");
        }
        URI u;
        try {
            u = new URI(text);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a valid URL (" + e.getReason() + " at character "
                    + (e.getIndex() + 1) + "); " + ConfigLoader.ENDPOINT_EXPECTED + ", got '" + text + "'");
        }
        String authority = u.getRawAuthority();
        if (authority == null || authority.isEmpty()) {
            throw new IllegalArgumentException("the URL has no host; " + ConfigLoader.ENDPOINT_EXPECTED + ", got '"
                    + text + "'");
        }
        if (authority.indexOf('@') >= 0) {
            throw new IllegalArgumentException("an endpoint URL cannot have user info (credentials); use the route's"
                    + " set_headers to send an Authorization header");
        }
        String rawPath = u.getRawPath();
        if (rawPath != null && !rawPath.isEmpty() && !rawPath.equals("/")) {
            throw new IllegalArgumentException("an endpoint URL is scheme, host and port only; remove the path '"
                    + rawPath + "' (a route's strip_prefix can rewrite paths)");
        }
        if (u.getRawQuery() != null) {
            throw new IllegalArgumentException("an endpoint URL cannot have a query ('?...')");
        }
        if (u.getRawFragment() != null) {
            throw new IllegalArgumentException("an endpoint URL cannot have a fragment ('#...')");
        }
        boolean hasPort = authority.startsWith("[") ? authority.lastIndexOf(':') > authority.indexOf(']')
                : authority.indexOf(':') >= 0;
        ConfigLoader.Address a = ConfigLoader.parseAddress(hasPort ? authority
                : authority + (scheme.equals("https") ? ":443" : ":80"), true);
        return new Address.Tcp(a.host(), a.port());
    }

    // ---------------------------------------------------------------------------------------------- load balancing

    private LoadBalancing loadBalancing(Node node, String path) {
        LoadBalancing d = LoadBalancing.defaults();
        if (r.failed(node)) {
            return d;
        }
        if (ConfigReader.isScalar(node)) {
            Optional<String> policy = policy(node, path);
            if (policy.isEmpty()) {
                return d;
            }
            String p = policy.get();
            if (HASH_POLICIES.contains(p)) {
                r.problem(node, path, p + " needs a hash key; write load_balancing: { policy: " + p
                        + ", hash_key: header:X-User } (or client_address, path, cookie:NAME, query:NAME)");
                return d;
            }
            return new LoadBalancing(p, Optional.empty(), d.hashTable(), p.equals(STICKY)
                    ? Optional.of(new Sticky(DEFAULT_STICKY_COOKIE, DEFAULT_POLICY, Optional.empty()))
                    : Optional.empty());
        }
        Fields f = r.map(node, path, LB_KEYS);
        if (f == null) {
            return d;
        }
        Optional<String> policy = f.has("policy") ? policy(f.value("policy"), f.path("policy"))
                : Optional.of(DEFAULT_POLICY);
        String name = policy.orElse(DEFAULT_POLICY);
        boolean sticky = name.equals(STICKY);
        if (policy.isPresent() && !sticky) {
            for (String key : STICKY_KEYS) {
                if (f.has(key)) {
                    r.problem(f.keyNode(key), f.path(key), "'" + key + "' applies only to policy sticky; the policy"
                            + " here is " + name);
                }
            }
        }
        // The policy that hashes, if any: the policy itself, or sticky's fallback for unpinned clients.
        Optional<String> hashing = policy;
        Optional<Sticky> stickyOptions = Optional.empty();
        if (sticky) {
            String cookie = f.get("cookie", DEFAULT_STICKY_COOKIE,
                    (n, p) -> r.parsed(n, p, "a cookie name such as tp_sticky", s -> {
                        String c = s.strip();
                        if (!TOKEN.matcher(c).matches()) {
                            throw new IllegalArgumentException("expected a cookie name (letters, digits and"
                                    + " !#$%&'*+-.^_`|~), got '" + s + "'");
                        }
                        return c;
                    }));
            Optional<String> fallback = Optional.of(DEFAULT_POLICY);
            if (f.has("fallback")) {
                fallback = policy(f.value("fallback"), f.path("fallback"));
                if (fallback.isPresent() && fallback.get().equals(STICKY)) {
                    r.problem(f.value("fallback"), f.path("fallback"), "sticky cannot fall back to itself; choose the"
                            + " policy for clients without a cookie, such as round_robin or least_connections");
                    fallback = Optional.empty();
                }
            }
            Optional<Duration> maxAge = f.get("max_age", Optional.empty(),
                    (n, p) -> r.duration(n, p).map(Optional::of));
            hashing = fallback;
            stickyOptions = Optional.of(new Sticky(cookie, fallback.orElse(DEFAULT_POLICY), maxAge));
        }
        String which = sticky ? "the fallback here is " : "the policy here is ";
        Optional<String> hashKey = Optional.empty();
        if (f.has("hash_key")) {
            if (hashing.isPresent() && !HASH_POLICIES.contains(hashing.get())) {
                r.problem(f.keyNode("hash_key"), f.path("hash_key"), "'hash_key' applies only to "
                        + String.join(", ", HASH_POLICIES) + "; " + which + hashing.get());
            } else {
                hashKey = r.parsed(f.value("hash_key"), f.path("hash_key"),
                        "client_address, path, header:NAME, cookie:NAME or query:NAME",
                        s -> HashKey.parse(s).toString());
            }
        } else if (hashing.isPresent() && HASH_POLICIES.contains(hashing.get())) {
            r.problem(f.node, f.path("hash_key"), "missing; " + hashing.get() + " needs a hash key: client_address,"
                    + " path, header:NAME, cookie:NAME or query:NAME");
        }
        String hashTable = d.hashTable();
        if (f.has("hash_table")) {
            if (hashing.isPresent() && !hashing.get().equals(LoadBalancers.CONSISTENT_HASH)) {
                r.problem(f.keyNode("hash_table"), f.path("hash_table"), "'hash_table' applies only to "
                        + LoadBalancers.CONSISTENT_HASH + "; " + which + hashing.get()
                        + (HASH_POLICIES.contains(hashing.get()) ? ", which always uses its own table" : ""));
            } else {
                hashTable = f.get("hash_table", d.hashTable(), (n, p) -> r.choice(n, p, List.of("ring", "maglev")));
            }
        }
        return new LoadBalancing(name, hashKey, hashTable, stickyOptions);
    }

    /** A registered policy name ({@link LoadBalancers#isKnown}), lower case. */
    private Optional<String> policy(Node node, String path) {
        return r.parsed(node, path, "a load balancing policy such as round_robin", s -> {
            String p = s.strip().toLowerCase(Locale.ROOT);
            if (LoadBalancers.isKnown(p)) {
                return p;
            }
            Set<String> names = LoadBalancers.names();
            String expected = "expected one of: " + String.join(", ", names);
            throw new IllegalArgumentException(Suggestions.closest(p, names)
                    .map(n -> "unknown load balancing policy '" + p + "'; did you mean '" + n + "'? " + expected)
                    .orElse("unknown load balancing policy '" + p + "'; " + expected));
        });
    }

    // ---------------------------------------------------------------------------------------------- pool, timeouts

    private Pool pool(Node node, String path) {
        Pool d = Pool.defaults();
        Fields f = r.map(node, path, POOL_KEYS);
        if (f == null) {
            return d;
        }
        return new Pool(
                f.get("max_connections", d.maxConnections(), (n, p) -> r.int32(n, p, 0, Integer.MAX_VALUE)),
                f.get("max_pending", d.maxPending(), (n, p) -> r.int32(n, p, 0, Integer.MAX_VALUE)),
                f.get("pending_timeout", d.pendingTimeout(), r::duration),
                f.get("idle_timeout", d.idleTimeout(), r::duration),
                f.get("max_idle", d.maxIdle(), (n, p) -> r.int32(n, p, 0, Integer.MAX_VALUE)),
                f.get("max_requests_per_connection", d.maxRequestsPerConnection(),
                        (n, p) -> r.integer(n, p, 0, Long.MAX_VALUE)),
                f.get("max_connection_lifetime", d.maxConnectionLifetime(), (n, p) -> r.duration(n, p, true)));
    }

    private Timeouts timeouts(Node node, String path) {
        Timeouts d = Timeouts.defaults();
        Fields f = r.map(node, path, TIMEOUT_KEYS);
        if (f == null) {
            return d;
        }
        return new Timeouts(
                f.get("connect", d.connect(), r::duration),
                f.get("send", d.send(), r::duration),
                f.get("first_byte", d.firstByte(), r::duration),
                f.get("idle", d.idle(), r::duration),
                f.get("total", d.total(), (n, p) -> r.duration(n, p, true)));
    }

    // ---------------------------------------------------------------------------------------------- health

    private Health health(Node node, String path, UpstreamProtocol protocol) {
        Fields f = r.map(node, path, HEALTH_KEYS, HEALTH_HINTS);
        if (f == null) {
            return Health.none();
        }
        Optional<ActiveCheck> active = f.has("active")
                ? Optional.ofNullable(active(f.value("active"), f.path("active"), protocol)) : Optional.empty();
        Optional<OutlierDetection> passive = f.has("passive")
                ? Optional.ofNullable(passive(f.value("passive"), f.path("passive"))) : Optional.empty();
        return new Health(active, passive);
    }

    private ActiveCheck active(Node node, String path, UpstreamProtocol protocol) {
        ActiveCheck d = ActiveCheck.defaults();
        Fields f = r.map(node, path, ACTIVE_KEYS);
        if (f == null) {
            return null;
        }
        ActiveCheck.Kind kind = f.get("type", d.kind(), (n, p) -> r.choice(n, p, List.of("http", "tcp", "grpc"))
                .map(s -> ActiveCheck.Kind.valueOf(s.toUpperCase(Locale.ROOT))));
        if (f.has("type") && kind != ActiveCheck.Kind.HTTP) {
            for (String key : HTTP_CHECK_KEYS) {
                if (f.has(key) && !(key.equals("host") && kind == ActiveCheck.Kind.GRPC)) {
                    r.problem(f.keyNode(key), f.path(key), "'" + key + "' applies only to http checks; this check"
                            + " is type: " + (kind == ActiveCheck.Kind.TCP ? "tcp (it only connects)"
                            : "grpc (it asks grpc.health.v1.Health/Check)"));
                }
            }
        }
        if (kind == ActiveCheck.Kind.GRPC && !protocol.isHttp2()) {
            r.problem(f.value("type"), f.path("type"), "a grpc check needs an HTTP/2 cluster (gRPC runs over"
                    + " HTTP/2); add protocol: h2c (or h2 over TLS) to the cluster");
        }
        if (f.has("service") && kind != ActiveCheck.Kind.GRPC) {
            r.problem(f.keyNode("service"), f.path("service"), "'service' applies only to grpc checks; this check is"
                    + " type: " + kind.name().toLowerCase(Locale.ROOT));
        }
        String service = f.get("service", "", (n, p) -> r.string(n, p, "a gRPC service name such as"
                + " my.package.Orders, or \"\" for the whole server"));
        String checkPath = f.get("path", d.path(), (n, p) -> r.parsed(n, p, "a request path such as /healthz", s -> {
            String t = s.strip();
            if (!t.startsWith("/")) {
                throw new IllegalArgumentException("a health check path must start with '/', e.g. /healthz; got '"
                        + s + "'");
            }
            if (t.chars().anyMatch(c -> c <= ' ' || c == 0x7f) || t.indexOf('#') >= 0) {
                throw new IllegalArgumentException("a health check path cannot contain spaces, control characters"
                        + " or '#'; got '" + s + "'");
            }
            return t;
        }));
        Optional<String> host = f.get("host", d.host(), (n, p) -> r.parsed(n, p, "a host name such as api.internal",
                s -> {
                    String t = s.strip();
                    if (!HOST_HEADER.matcher(t).matches()) {
                        throw new IllegalArgumentException("expected a host name such as api.internal, optionally"
                                + " with a port (api.internal:8080); got '" + s + "'");
                    }
                    return Optional.of(t);
                }));
        int[] status = f.get("expected_status", new int[] {d.statusFrom(), d.statusTo()},
                (n, p) -> r.parsed(n, p, "a status such as 200 or a range such as 200-399", ClusterLoader::statusRange));
        Optional<String> body = f.get("body_contains", d.bodyContains(), (n, p) -> r.string(n, p, "text to look for")
                .flatMap(s -> {
                    if (s.isEmpty()) {
                        r.problem(n, p, "expected text that the body must contain, got an empty string; remove"
                                + " body_contains to not check the body");
                        return Optional.empty();
                    }
                    return Optional.of(Optional.of(s));
                }));
        Optional<Duration> interval = f.has("interval") ? r.duration(f.value("interval"), f.path("interval"))
                : Optional.of(d.interval());
        Optional<Duration> timeout = f.has("timeout") ? r.duration(f.value("timeout"), f.path("timeout"))
                : Optional.of(d.timeout());
        if (interval.isPresent() && timeout.isPresent() && timeout.get().compareTo(interval.get()) >= 0) {
            if (f.has("timeout")) {
                r.problem(f.value("timeout"), f.path("timeout"), "must be shorter than the interval ("
                        + Durations.format(interval.get()) + "), got " + Durations.format(timeout.get()));
            } else {
                r.problem(f.value("interval"), f.path("interval"), "must be longer than the timeout ("
                        + Durations.format(timeout.get()) + " by default), got " + Durations.format(interval.get())
                        + "; or set a shorter timeout");
            }
        }
        int rise = f.get("rise", d.rise(), (n, p) -> r.int32(n, p, 1, Integer.MAX_VALUE));
        int fall = f.get("fall", d.fall(), (n, p) -> r.int32(n, p, 1, Integer.MAX_VALUE));
        double jitter = f.get("jitter", d.jitter(), (n, p) -> r.percent(n, p, 0, 50).map(v -> v / 100.0));
        return new ActiveCheck(kind, checkPath, host, status[0], status[1], body, interval.orElse(d.interval()),
                timeout.orElse(d.timeout()), rise, fall, jitter, service);
    }

    /** {@code 200} or {@code 200-399}: statuses 100..599, low to high. */
    static int[] statusRange(String text) {
        String s = text.strip();
        var m = STATUS_RANGE.matcher(s);
        if (!m.matches()) {
            throw new IllegalArgumentException("expected a status such as 200 or a range such as 200-399, got '"
                    + text + "'");
        }
        int from = Integer.parseInt(m.group(1));
        int to = m.group(2) == null ? from : Integer.parseInt(m.group(2));
        for (int v : new int[] {from, to}) {
            if (v < 100 || v > 599) {
                throw new IllegalArgumentException("a status must be between 100 and 599, got " + v);
            }
        }
        if (from > to) {
            throw new IllegalArgumentException("a status range goes from low to high, e.g. " + to + "-" + from
                    + "; got '" + s + "'");
        }
        return new int[] {from, to};
    }

    private OutlierDetection passive(Node node, String path) {
        OutlierDetection d = OutlierDetection.defaults();
        Fields f = r.map(node, path, PASSIVE_KEYS);
        if (f == null) {
            return null;
        }
        int consecutive5xx = f.get("consecutive_5xx", d.consecutive5xx(), (n, p) -> r.int32(n, p, 0, Integer.MAX_VALUE));
        int connectFailures = f.get("consecutive_connect_failures", d.consecutiveConnectFailures(),
                (n, p) -> r.int32(n, p, 0, Integer.MAX_VALUE));
        Optional<Duration> base = f.has("base_ejection_time")
                ? r.duration(f.value("base_ejection_time"), f.path("base_ejection_time"))
                : Optional.of(d.baseEjectionTime());
        Optional<Duration> max = f.has("max_ejection_time")
                ? r.duration(f.value("max_ejection_time"), f.path("max_ejection_time"))
                : Optional.of(d.maxEjectionTime());
        if (base.isPresent() && max.isPresent() && max.get().compareTo(base.get()) < 0) {
            if (f.has("max_ejection_time")) {
                r.problem(f.value("max_ejection_time"), f.path("max_ejection_time"), "must be at least"
                        + " base_ejection_time (" + Durations.format(base.get()) + "), got "
                        + Durations.format(max.get()));
            } else {
                r.problem(f.value("base_ejection_time"), f.path("base_ejection_time"), "must be at most"
                        + " max_ejection_time (" + Durations.format(max.get()) + " by default), got "
                        + Durations.format(base.get()) + "; or raise max_ejection_time");
            }
        }
        int percent = f.get("max_ejection_percent", d.maxEjectionPercent(), (n, p) -> r.percent(n, p, 0, 100));
        return new OutlierDetection(consecutive5xx, connectFailures, base.orElse(d.baseEjectionTime()),
                max.orElse(d.maxEjectionTime()), percent);
    }

    // ---------------------------------------------------------------------------------------------- retries, limits

    private Retries retries(Node node, String path) {
        Retries d = Retries.defaults();
        Fields f = r.map(node, path, RETRY_KEYS);
        if (f == null) {
            return d;
        }
        int attempts = f.get("attempts", d.attempts(), (n, p) -> r.int32(n, p, 0, 10));
        Set<String> on = d.on();
        if (f.has("on")) {
            Node value = f.value("on");
            List<Node> items = r.list(value, f.path("on"), true, "conditions such as [connect_failure, reset, 503]");
            if (items != null) {
                boolean single = !(value instanceof SequenceNode);
                Set<String> conditions = new LinkedHashSet<>();
                for (int i = 0; i < items.size(); i++) {
                    String p = single ? f.path("on") : ConfigReader.index(f.path("on"), i);
                    retryCondition(items.get(i), p).ifPresent(conditions::add);
                }
                on = conditions;
            }
        }
        int budget = f.get("budget", d.budgetPercent(), (n, p) -> r.percent(n, p, 0, 100));
        int minConcurrent = f.get("min_concurrent", d.minRetriesConcurrent(),
                (n, p) -> r.int32(n, p, 0, Integer.MAX_VALUE));
        long bufferBody = f.get("buffer_body", d.bufferBody(), (n, p) -> r.size(n, p, 0, MAX_BUFFER_BODY));
        return new Retries(attempts, on, budget, minConcurrent, bufferBody);
    }

    private Optional<String> retryCondition(Node node, String path) {
        String expected = "connect_failure, reset, timeout, or a status from 500 to 599";
        return r.parsed(node, path, expected, s -> {
            String t = s.strip().toLowerCase(Locale.ROOT);
            if (t.matches("[0-9]+")) {
                int status = Integer.parseInt(t.length() > 4 ? "9999" : t);
                if (status < 500 || status > 599) {
                    throw new IllegalArgumentException("only 5xx statuses (500 to 599) can be retried, got " + t);
                }
                return String.valueOf(status);
            }
            if (RETRY_ON.contains(t)) {
                return t;
            }
            throw new IllegalArgumentException(Suggestions.closest(t, RETRY_ON)
                    .map(w -> "unknown retry condition '" + t + "'; did you mean '" + w + "'? expected " + expected)
                    .orElse("unknown retry condition '" + t + "'; expected " + expected));
        });
    }

    private ClusterConfig.Limits limits(Node node, String path) {
        ClusterConfig.Limits d = ClusterConfig.Limits.defaults();
        Fields f = r.map(node, path, LIMIT_KEYS);
        if (f == null) {
            return d;
        }
        return new ClusterConfig.Limits(
                f.get("max_connections", d.maxConnections(), (n, p) -> r.int32(n, p, 0, Integer.MAX_VALUE)),
                f.get("max_pending", d.maxPending(), (n, p) -> r.int32(n, p, 0, Integer.MAX_VALUE)),
                f.get("max_requests", d.maxRequests(), (n, p) -> r.int32(n, p, 0, Integer.MAX_VALUE)));
    }
}
