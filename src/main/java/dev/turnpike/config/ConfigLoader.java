package dev.turnpike.config;

import dev.turnpike.config.ConfigReader.Fields;
import dev.turnpike.handler.Template;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads a Turnpike YAML configuration and validates all of it before anything listens. Every problem found is
 * collected (not just the first) and reported as {@code file:line:column: key: message}; see docs/configuration.md.
 */
public final class ConfigLoader {

    /** Source name of the configuration built into the jar. */
    public static final String EMBEDDED_SOURCE = "<embedded>";
    /** Classpath location of the built-in configuration. */
    public static final String EMBEDDED_RESOURCE = "/dev/turnpike/config/embedded-default.yaml";

    static final long MAX_ERROR_PAGE_BYTES = 1024 * 1024;

    // ---------------------------------------------------------------------------------------------- schema

    static final List<String> TOP_KEYS = List.of("server", "listen", "listeners", "access_log", "clusters", "sites",
            "admin");
    static final List<String> SERVER_KEYS = List.of("event_loops", "allocator", "transport", "server_header",
            "shutdown_timeout", "trusted_proxies", "request_id_header", "watch_config", "reload_grace", "log_format");
    static final List<String> ADMIN_KEYS = List.of("address", "token");
    /** Shortest admin token accepted: 16 characters leave no room for guessing over the network. */
    static final int MIN_ADMIN_TOKEN_LENGTH = 16;
    static final List<String> LISTENER_KEYS = List.of("address", "name", "limits", "timeouts", "sendfile", "tls",
            "redirect_to_https", "http2");
    static final List<String> LIMIT_KEYS = List.of("max_request_line", "max_header_size", "max_header_count",
            "max_body_size", "max_connections", "max_connections_per_client");
    static final List<String> TIMEOUT_KEYS = List.of("request_head", "request_body", "keep_alive");
    static final List<String> HTTP2_KEYS = List.of("enabled", "h2c_upgrade", "max_concurrent_streams",
            "initial_window_size", "connection_window_size", "max_frame_size", "max_header_list_size",
            "header_table_size", "max_continuation_frames", "max_resets", "reset_window", "max_control_frames",
            "control_frame_window", "max_queued_control_frames", "flow_control_timeout");
    static final List<String> ACCESS_LOG_KEYS = List.of("format", "output");
    static final List<String> SITE_KEYS = List.of("name", "host", "hosts", "error_pages", "routes");
    static final List<String> HANDLER_KEYS = List.of("static", "proxy", "respond", "redirect");
    static final List<String> ROUTE_KEYS = List.of("name", "path", "regex", "methods", "headers", "error_pages",
            "static", "proxy", "respond", "redirect");
    static final List<String> STATIC_KEYS = List.of("root", "index", "spa_fallback", "listing", "show_hidden",
            "precompressed", "cache_control", "strip_prefix");
    static final List<String> PROXY_KEYS = List.of("upstream", "cluster", "split", "mirror", "connect_timeout",
            "response_timeout", "idle_timeout", "preserve_host", "strip_prefix", "set_headers", "max_idle_per_loop",
            "timeouts", "streaming", "websocket", "grpc_web");
    /** A proxy route's own stage timeouts (cluster and split forms). */
    static final List<String> ROUTE_TIMEOUT_KEYS = List.of("first_byte", "idle", "total");
    static final List<String> WEBSOCKET_KEYS = List.of("inspect", "max_frame_size", "max_message_size",
            "idle_timeout", "max_connections", "max_connections_per_client", "allowed_origins");
    static final List<String> GRPC_WEB_KEYS = List.of("allow_origins");
    /** Where a proxy sends requests: exactly one of these. */
    static final List<String> PROXY_TARGET_KEYS = List.of("upstream", "cluster", "split");
    /** Keys of the URL form that a cluster sets for itself: key → where it lives in a cluster. */
    static final Map<String, String> URL_ONLY_PROXY_KEYS = urlOnlyKeys();
    static final List<String> SPLIT_LEG_KEYS = List.of("cluster", "weight");
    static final List<String> MIRROR_KEYS = List.of("cluster", "percent");
    static final List<String> RESPOND_KEYS = List.of("status", "body", "headers");
    static final List<String> REDIRECT_KEYS = List.of("to", "status");
    static final List<String> ERROR_PAGE_KEYS = List.of("html", "json");

    private static final Map<String, String> TOP_HINTS = hints(
            Map.of("server", SERVER_KEYS, "listeners[]", List.of("address", "limits", "timeouts", "sendfile", "http2"),
                    "sites[]", List.of("host", "hosts", "routes", "error_pages"),
                    ClusterLoader.CLUSTER_HOME, List.of("endpoints", "load_balancing", "slow_start", "dns_refresh",
                            "pool", "health", "retries")));
    private static final Map<String, String> PROXY_HINTS = hints(Map.of(ClusterLoader.CLUSTER_HOME,
            ClusterLoader.CLUSTER_KEYS, "split[]", List.of("weight"), "mirror", List.of("percent"),
            "timeouts", List.of("first_byte", "total"), "websocket", List.of("inspect", "max_frame_size",
                    "max_message_size", "max_connections_per_client", "allowed_origins")));
    /** Stage timeouts a route cannot override: they are about the endpoints, not the route's requests. */
    private static final Map<String, String> ROUTE_TIMEOUT_HINTS = Map.of(
            "connect", "clusters.<name>.timeouts", "send", "clusters.<name>.timeouts");
    private static final Map<String, String> LISTENER_HINTS = listenerHints();
    private static final Map<String, String> SITE_HINTS = hints(
            Map.of("routes[]", List.of("path", "regex", "methods", "headers", "static", "proxy", "respond", "redirect")));
    private static final Map<String, String> ROUTE_HINTS = routeHints();

    private static Map<String, String> hints(Map<String, List<String>> homes) {
        Map<String, String> out = new HashMap<>();
        homes.forEach((home, keys) -> keys.forEach(k -> out.put(k, home)));
        return out;
    }

    private static Map<String, String> listenerHints() {
        Map<String, String> out = new HashMap<>(hints(Map.of("limits", LIMIT_KEYS, "timeouts", TIMEOUT_KEYS,
                "http2", HTTP2_KEYS, "tls", TlsLoader.TLS_KEYS)));
        out.put("hsts", "tls");
        out.put("hosts", "tls.certificates[]");
        return out;
    }

    private static Map<String, String> urlOnlyKeys() {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("connect_timeout", "timeouts.connect");
        out.put("response_timeout", "timeouts.first_byte");
        out.put("idle_timeout", "timeouts.idle");
        out.put("max_idle_per_loop", "pool.max_idle");
        return out;
    }

    private static Map<String, String> routeHints() {
        Map<String, String> out = new HashMap<>(hints(Map.of(
                "static", STATIC_KEYS, "proxy", PROXY_KEYS, "respond", List.of("status", "body"),
                "redirect", List.of("to"), "the site", List.of("host", "hosts", "routes"))));
        out.put("strip_prefix", "static or proxy");
        return out;
    }

    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+\\-.^_`|~0-9A-Za-z]+");
    static final Pattern HOST_NAME =
            Pattern.compile("[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*");
    static final Pattern IPV4 = Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^{}]*)}");

    // ---------------------------------------------------------------------------------------------- API

    /** Reads and validates {@code file}; relative paths inside resolve against the file's directory. */
    public static TurnpikeConfig load(Path file) throws ConfigException {
        return load(file, System.getenv());
    }

    /** As {@link #load(Path)} with an explicit environment for {@code ${NAME}} expansion. */
    public static TurnpikeConfig load(Path file, Map<String, String> env) throws ConfigException {
        String name = file.toString();
        String reason;
        try {
            byte[] bytes = Files.readAllBytes(file);
            String yaml;
            try {
                yaml = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw new ConfigException(List.of(new ConfigProblem(new SourcePosition(name, 1, 1), "(file)",
                        "the file is not valid UTF-8 text")));
            }
            Path dir = file.toAbsolutePath().getParent();
            return parse(yaml, name, dir == null ? Path.of("").toAbsolutePath() : dir, env);
        } catch (NoSuchFileException e) {
            reason = "cannot read the configuration: no such file";
        } catch (AccessDeniedException e) {
            reason = "cannot read the configuration: permission denied";
        } catch (IOException e) {
            reason = Files.isDirectory(file) ? "cannot read the configuration: it is a directory, expected a YAML file"
                    : "cannot read the configuration: " + e.getMessage();
        }
        throw new ConfigException(List.of(new ConfigProblem(new SourcePosition(name, 1, 1), "(file)", reason)));
    }

    /** Validates {@code yaml}; {@code sourceName} appears in messages, relative paths resolve against {@code baseDir}. */
    public static TurnpikeConfig parse(String yaml, String sourceName, Path baseDir) throws ConfigException {
        return parse(yaml, sourceName, baseDir, System.getenv());
    }

    /** As {@link #parse(String, String, Path)} with an explicit environment for {@code ${NAME}} expansion. */
    public static TurnpikeConfig parse(String yaml, String sourceName, Path baseDir, Map<String, String> env)
            throws ConfigException {
        ConfigReader reader = new ConfigReader(sourceName);
        ConfigLoader loader = new ConfigLoader(reader, baseDir.toAbsolutePath().normalize(), sourceName);
        TurnpikeConfig config = loader.read(yaml, env);
        List<ConfigProblem> problems = reader.problems();
        if (!problems.isEmpty() || config == null) {
            throw new ConfigException(problems);
        }
        return config;
    }

    /** The YAML text of the built-in configuration. */
    public static String embeddedDefaultYaml() {
        try (InputStream in = ConfigLoader.class.getResourceAsStream(EMBEDDED_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + EMBEDDED_RESOURCE);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read resource " + EMBEDDED_RESOURCE, e);
        }
    }

    /** The built-in configuration (serves {@code ${TURNPIKE_WELCOME_ROOT}} on 127.0.0.1:8080). */
    public static TurnpikeConfig embeddedDefault() throws ConfigException {
        return embeddedDefault(System.getenv());
    }

    public static TurnpikeConfig embeddedDefault(Map<String, String> env) throws ConfigException {
        return parse(embeddedDefaultYaml(), EMBEDDED_SOURCE, Path.of("").toAbsolutePath(), env);
    }

    // ---------------------------------------------------------------------------------------------- reading

    private final ConfigReader r;
    private final Path baseDir;
    private final String source;
    /** The clusters section, read before the sites so that routes can refer to clusters. */
    private ClusterLoader.Clusters clusters = ClusterLoader.Clusters.NONE;

    private ConfigLoader(ConfigReader reader, Path baseDir, String source) {
        this.r = reader;
        this.baseDir = baseDir;
        this.source = source;
    }

    private TurnpikeConfig read(String yaml, Map<String, String> env) {
        int before = r.problemCount();
        Optional<Node> root = r.compose(yaml);
        if (root.isEmpty()) {
            if (r.problemCount() == before) {
                r.problem(new SourcePosition(source, 1, 1), "(top level)",
                        "the configuration is empty; expected at least 'listen' and 'sites'");
            }
            return null;
        }
        r.expandEnvironment(root.get(), env);
        Fields top = r.map(root.get(), "", TOP_KEYS, TOP_HINTS);
        if (top == null) {
            return null;
        }
        ServerSettings server = top.has("server") ? server(top.value("server"), "server") : ServerSettings.defaults();
        List<ListenerConfig> listeners = listeners(top);
        AccessLogConfig accessLog = top.has("access_log") ? accessLog(top.value("access_log"), "access_log")
                : AccessLogConfig.defaults();
        if (top.has("clusters")) {
            clusters = new ClusterLoader(r, baseDir).read(top.value("clusters"), top.path("clusters"));
        }
        List<SiteConfig> sites = sites(top);
        AdminConfig admin = top.has("admin") ? admin(top.value("admin"), top.path("admin"), listeners)
                : AdminConfig.disabled();
        return new TurnpikeConfig(source, server, listeners, sites, accessLog, clusters.clusters(), admin);
    }

    // ---------------------------------------------------------------------------------------------- server

    private ServerSettings server(Node node, String path) {
        ServerSettings d = ServerSettings.defaults();
        Fields f = r.map(node, path, SERVER_KEYS);
        if (f == null) {
            return d;
        }
        int eventLoops = f.get("event_loops", d.eventLoops(), (n, p) -> r.int32(n, p, 0, 4096));
        ServerSettings.Allocator allocator = f.get("allocator", d.allocator(),
                (n, p) -> r.choice(n, p, List.of("pooled", "adaptive", "unpooled"))
                        .map(s -> ServerSettings.Allocator.valueOf(s.toUpperCase(Locale.ROOT))));
        ServerSettings.Transport transport = f.get("transport", d.transport(),
                (n, p) -> r.choice(n, p, List.of("auto", "epoll", "nio"))
                        .map(s -> ServerSettings.Transport.valueOf(s.toUpperCase(Locale.ROOT))));
        Optional<String> serverHeader = f.get("server_header", d.serverHeader(), this::serverHeader);
        Duration shutdown = f.get("shutdown_timeout", d.shutdownTimeout(), r::duration);
        List<CidrBlock> trusted = d.trustedProxies();
        if (f.has("trusted_proxies")) {
            List<Node> items = r.list(f.value("trusted_proxies"), f.path("trusted_proxies"), true,
                    "IP addresses or CIDR blocks");
            if (items != null) {
                trusted = new ArrayList<>();
                for (int i = 0; i < items.size(); i++) {
                    r.parsed(items.get(i), ConfigReader.index(f.path("trusted_proxies"), i),
                            "an IP address or CIDR block such as 10.0.0.0/8",
                            s -> {
                                try {
                                    return CidrBlock.parse(s);
                                } catch (IllegalArgumentException e) {
                                    throw new IllegalArgumentException("expected " + e.getMessage()
                                            + " (host names are not allowed)");
                                }
                            }).ifPresent(trusted::add);
                }
            }
        }
        String requestIdHeader = f.get("request_id_header", d.requestIdHeader(),
                (n, p) -> r.parsed(n, p, "a header name", s -> headerName(s.strip())));
        boolean watchConfig = f.get("watch_config", d.watchConfig(), r::bool);
        Duration reloadGrace = f.get("reload_grace", d.reloadGrace(), r::duration);
        ServerSettings.LogFormat logFormat = f.get("log_format", d.logFormat(),
                (n, p) -> r.choice(n, p, List.of("text", "json"))
                        .map(s -> ServerSettings.LogFormat.valueOf(s.toUpperCase(Locale.ROOT))));
        return new ServerSettings(eventLoops, allocator, transport, serverHeader, shutdown, trusted, requestIdHeader,
                watchConfig, reloadGrace, logFormat);
    }

    // ---------------------------------------------------------------------------------------------- admin

    /**
     * {@code admin: true}, {@code admin: "127.0.0.1:9091"} or a mapping with {@code address} and {@code token};
     * {@code false} or {@code off} turns it off. Off a loopback address a token is required.
     */
    private AdminConfig admin(Node node, String path, List<ListenerConfig> listeners) {
        AdminConfig off = AdminConfig.disabled();
        if (r.failed(node)) {
            return off;
        }
        Node addressNode;
        String addressPath;
        Optional<String> addressText;
        Optional<String> token = Optional.empty();
        boolean tokenGiven = false;
        if (ConfigReader.isScalar(node)) {
            String t = r.text((ScalarNode) node).strip().toLowerCase(Locale.ROOT);
            if (t.equals("false") || t.equals("off")) {
                return off;
            }
            addressNode = node;
            addressPath = path;
            addressText = t.equals("true") || t.equals("on") ? Optional.empty()
                    : r.string(node, path, "true, false, an address such as \"127.0.0.1:9090\", or a mapping with"
                    + " 'address' and 'token'");
            if (addressText.isEmpty() && !(t.equals("true") || t.equals("on"))) {
                return off;
            }
        } else {
            Fields f = r.map(node, path, ADMIN_KEYS);
            if (f == null) {
                return off;
            }
            addressNode = f.has("address") ? f.value("address") : node;
            addressPath = f.has("address") ? f.path("address") : path;
            addressText = f.has("address")
                    ? r.string(f.value("address"), f.path("address"), "an address such as \"127.0.0.1:9090\"")
                    : Optional.empty();
            if (f.has("address") && addressText.isEmpty()) {
                return off;
            }
            if (f.has("token")) {
                tokenGiven = true;
                token = adminToken(f.value("token"), f.path("token"));
            }
        }
        Address a = new Address(AdminConfig.DEFAULT_HOST, AdminConfig.DEFAULT_PORT);
        if (addressText.isPresent()) {
            Optional<Address> parsed = address(addressNode, addressPath, addressText.get());
            if (parsed.isEmpty()) {
                return off;
            }
            a = parsed.get();
        }
        for (ListenerConfig l : listeners) {
            if (a.port() != 0 && l.port() == a.port() && normalizedHost(l.host()).equals(normalizedHost(a.host()))) {
                r.problem(addressNode, addressPath, "the admin API needs an address of its own; " + formatAddress(a)
                        + " is already the listener at " + l.position());
            }
        }
        if (!AdminConfig.isLoopback(a.host()) && !tokenGiven) {
            r.problem(addressNode, addressPath, "the admin API on " + formatAddress(a) + " can be reached from"
                    + " other machines, so it needs a token: add 'token' (e.g. token: \"${TURNPIKE_ADMIN_TOKEN}\"),"
                    + " or listen on this machine only, e.g. 127.0.0.1:" + a.port());
        }
        return new AdminConfig(true, a.host(), a.port(), token, r.pos(node));
    }

    private Optional<String> adminToken(Node node, String path) {
        Optional<String> token = r.string(node, path, "a secret token (at least " + MIN_ADMIN_TOKEN_LENGTH
                + " characters)");
        if (token.isEmpty()) {
            return token;
        }
        String t = token.get();
        if (!t.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            r.problem(node, path, "a token is sent in the Authorization header: use only visible ASCII characters,"
                    + " without spaces");
            return Optional.empty();
        }
        if (t.length() < MIN_ADMIN_TOKEN_LENGTH) {
            // The message never repeats the token: it may be real even when too short.
            r.problem(node, path, "a token must be at least " + MIN_ADMIN_TOKEN_LENGTH + " characters long, got "
                    + t.length() + "; generate one with: openssl rand -hex 32");
            return Optional.empty();
        }
        return token;
    }

    private Optional<Optional<String>> serverHeader(Node node, String path) {
        if (node instanceof ScalarNode s && Tag.BOOL.equals(s.getTag())) {
            if (s.getValue().equalsIgnoreCase("false")) {
                return Optional.of(Optional.empty());
            }
            r.problem(node, path, "expected a string, or false to hide the Server header; got " + ConfigReader.describe(node));
            return Optional.empty();
        }
        return r.parsed(node, path, "a string, or false to hide the Server header", s -> {
            checkHeaderValue(s);
            return s.isEmpty() ? Optional.<String>empty() : Optional.of(s);
        });
    }

    static String headerName(String s) {
        if (!TOKEN.matcher(s).matches()) {
            throw new IllegalArgumentException("expected a header name (letters, digits and !#$%&'*+-.^_`|~), got '" + s + "'");
        }
        return s;
    }

    private static void checkHeaderValue(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                throw new IllegalArgumentException("a header value cannot contain control characters such as line breaks");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------- listeners

    record Address(String host, int port) {}

    private List<ListenerConfig> listeners(Fields top) {
        List<ListenerConfig> out = new ArrayList<>();
        int problemsBefore = r.problemCount();
        Map<String, String> addresses = new HashMap<>();
        Map<String, String> names = new HashMap<>();
        if (top.has("listen")) {
            String path = top.path("listen");
            Node value = top.value("listen");
            boolean single = !(value instanceof SequenceNode);
            List<Node> items = r.list(value, path, true, "addresses such as \"127.0.0.1:8080\"");
            if (items != null) {
                for (int i = 0; i < items.size(); i++) {
                    Node item = items.get(i);
                    String p = single ? path : ConfigReader.index(path, i);
                    Optional<String> text = r.string(item, p, "an address such as \"127.0.0.1:8080\" or \":8080\"");
                    if (text.isEmpty()) {
                        continue;
                    }
                    Optional<Address> a = address(item, p, text.get());
                    if (a.isEmpty() || duplicateAddress(item, p, a.get(), addresses)) {
                        continue;
                    }
                    String name = text.get().strip();
                    uniqueListenerName(item, p, name, names);
                    out.add(new ListenerConfig(name, a.get().host(), a.get().port(),
                            ListenerConfig.Limits.defaults(), ListenerConfig.Timeouts.defaults(), r.pos(item)));
                }
            }
        }
        if (top.has("listeners")) {
            String path = top.path("listeners");
            List<Node> items = r.list(top.value("listeners"), path, false, "listener mappings");
            if (items != null) {
                for (int i = 0; i < items.size(); i++) {
                    ListenerConfig l = listener(items.get(i), ConfigReader.index(path, i), addresses, names);
                    if (l != null) {
                        out.add(l);
                    }
                }
            }
        }
        resolveRedirects(out);
        if (out.isEmpty() && r.problemCount() == problemsBefore) {
            Node at = top.has("listen") ? top.keyNode("listen") : top.has("listeners") ? top.keyNode("listeners") : top.node;
            r.problem(at, top.has("listen") || !top.has("listeners") ? "listen" : "listeners",
                    "no listener; add for example listen: \"127.0.0.1:8080\" (this machine only)"
                    + " or listen: \":8080\" (all interfaces), or a 'listeners' list");
        }
        return out;
    }

    /** Where each {@code redirect_to_https: true} was written, to report a redirect with no HTTPS listener. */
    private final Map<ListenerConfig, RedirectAt> autoRedirects = new java.util.IdentityHashMap<>();

    private record RedirectAt(Node node, String path) {}

    /** {@code redirect_to_https: true} means "the port of the HTTPS listener": there must be exactly one. */
    private void resolveRedirects(List<ListenerConfig> listeners) {
        List<ListenerConfig> tls = listeners.stream().filter(l -> l.tls().isPresent()).toList();
        for (int i = 0; i < listeners.size(); i++) {
            ListenerConfig l = listeners.get(i);
            RedirectAt at = autoRedirects.get(l);
            if (at == null) {
                continue;
            }
            if (tls.size() == 1) {
                listeners.set(i, new ListenerConfig(l.name(), l.host(), l.port(), l.limits(), l.timeouts(),
                        l.sendfile(), l.tls(), Optional.of(new ListenerConfig.HttpsRedirect(0, tls.getFirst().name())),
                        l.http2(), l.position()));
            } else {
                r.problem(at.node(), at.path(), tls.isEmpty()
                        ? "true sends clients to this configuration's HTTPS listener, but no"
                        + " listener has 'tls'; add one, or give the HTTPS port, e.g. redirect_to_https: 443"
                        : "there are " + tls.size() + " HTTPS listeners (" + String.join(", ",
                        tls.stream().map(ListenerConfig::name).toList()) + "); give the port to redirect to,"
                        + " e.g. redirect_to_https: 443");
            }
        }
    }

    /** {@code true} (the HTTPS listener's port, resolved later), {@code false}, or a port. */
    private Optional<ListenerConfig.HttpsRedirect> redirectToHttps(Node node, String path) {
        if (node instanceof ScalarNode s && Tag.BOOL.equals(s.getTag())) {
            return r.bool(node, path).filter(b -> b).map(b -> new ListenerConfig.HttpsRedirect(0, null));
        }
        return r.int32(node, path, 1, 65535).map(port -> new ListenerConfig.HttpsRedirect(port, null));
    }

    private ListenerConfig listener(Node node, String path, Map<String, String> addresses, Map<String, String> names) {
        Fields f = r.map(node, path, LISTENER_KEYS, LISTENER_HINTS);
        if (f == null) {
            return null;
        }
        Optional<String> text = f.required("address", "an address such as \"127.0.0.1:8080\" or \":8080\"",
                (n, p) -> r.string(n, p, "an address such as \"127.0.0.1:8080\" or \":8080\""));
        Optional<Address> address = text.flatMap(t -> address(f.value("address"), f.path("address"), t));
        boolean duplicate = address.isPresent()
                && duplicateAddress(f.value("address"), f.path("address"), address.get(), addresses);
        String name = f.get("name", text.map(String::strip).orElse(path), (n, p) -> nonEmpty(n, p, "a name"));
        if (!duplicate) {
            uniqueListenerName(f.has("name") ? f.value("name") : node, f.has("name") ? f.path("name") : path, name, names);
        }
        ListenerConfig.Limits limits = f.has("limits") ? limits(f.value("limits"), f.path("limits"))
                : ListenerConfig.Limits.defaults();
        ListenerConfig.Timeouts timeouts = f.has("timeouts") ? timeouts(f.value("timeouts"), f.path("timeouts"))
                : ListenerConfig.Timeouts.defaults();
        boolean sendfile = f.get("sendfile", true, r::bool);
        ListenerConfig.Http2 http2 = f.has("http2") ? http2(f.value("http2"), f.path("http2"))
                : ListenerConfig.Http2.defaults();
        Optional<TlsConfig> tls = f.has("tls") ? new TlsLoader(r, baseDir).read(f.value("tls"), f.path("tls"))
                : Optional.empty();
        if (f.has("tls") && f.has("sendfile") && sendfile) {
            r.problem(f.value("sendfile"), f.path("sendfile"), "a tls listener never uses sendfile (TLS encrypts"
                    + " in user space); remove 'sendfile'");
        }
        Optional<ListenerConfig.HttpsRedirect> redirect = Optional.empty();
        if (f.has("redirect_to_https")) {
            if (f.has("tls")) {
                r.problem(f.keyNode("redirect_to_https"), f.path("redirect_to_https"), "this listener already"
                        + " serves HTTPS; redirect_to_https belongs on a plain-HTTP listener");
            } else {
                redirect = redirectToHttps(f.value("redirect_to_https"), f.path("redirect_to_https"));
            }
        }
        if (address.isEmpty()) {
            return null;
        }
        ListenerConfig l = new ListenerConfig(name, address.get().host(), address.get().port(), limits, timeouts,
                sendfile && !f.has("tls"), tls, redirect, http2, r.pos(node));
        if (redirect.isPresent() && redirect.get().port() == 0) {
            autoRedirects.put(l, new RedirectAt(f.value("redirect_to_https"), f.path("redirect_to_https")));
        }
        return l;
    }

    private boolean duplicateAddress(Node node, String path, Address a, Map<String, String> seen) {
        if (a.port() == 0) {
            return false;
        }
        String key = normalizedHost(a.host()) + "|" + a.port();
        String first = seen.putIfAbsent(key, path);
        if (first != null) {
            r.problem(node, path, "duplicate listener: " + formatAddress(a) + " is already used by " + first);
            return true;
        }
        return false;
    }

    private void uniqueListenerName(Node node, String path, String name, Map<String, String> seen) {
        String first = seen.putIfAbsent(name, path);
        if (first != null) {
            r.problem(node, path, "duplicate listener name '" + name + "'; already used by " + first);
        }
    }

    private static String normalizedHost(String host) {
        if (host.indexOf(':') >= 0 || IPV4.matcher(host).matches()) {
            try {
                return InetAddress.getByName(host).getHostAddress();
            } catch (UnknownHostException e) {
                return host;
            }
        }
        return host.toLowerCase(Locale.ROOT);
    }

    private static String formatAddress(Address a) {
        return (a.host().indexOf(':') >= 0 ? "[" + a.host() + "]" : a.host()) + ":" + a.port();
    }

    private Optional<Address> address(Node node, String path, String text) {
        try {
            return Optional.of(parseAddress(text));
        } catch (IllegalArgumentException e) {
            r.problem(node, path, e.getMessage());
            return Optional.empty();
        }
    }

    /** {@code host:port}, {@code :port} (all interfaces) or {@code [ipv6]:port}. */
    static Address parseAddress(String text) {
        return parseAddress(text, false);
    }

    static final String ENDPOINT_EXPECTED = "expected host:port such as \"10.0.0.1:8080\" or \"[::1]:8080\","
            + " an http:// or https:// URL, or unix:/path/to.sock";

    /**
     * With {@code endpoint}, the address of an upstream to connect to: a host is required, the port is 1..65535,
     * "all interfaces" is refused and IPv6 literals are compressed (RFC 5952).
     */
    static Address parseAddress(String text, boolean endpoint) {
        String s = text.strip();
        String expected = endpoint ? ENDPOINT_EXPECTED
                : "expected host:port such as \"127.0.0.1:8080\", \":8080\" (all interfaces) or \"[::1]:8080\"";
        if (endpoint && s.matches(":?[0-9]+")) {
            String port = s.startsWith(":") ? s.substring(1) : s;
            throw new IllegalArgumentException("'" + s + "' has no host; an endpoint needs one, e.g. \"127.0.0.1:"
                    + port + "\"");
        }
        if (s.matches("[0-9]+")) {
            throw new IllegalArgumentException("'" + s + "' has no host; write \":" + s + "\" for all interfaces"
                    + " or \"127.0.0.1:" + s + "\" for this machine only");
        }
        String host;
        String port;
        if (s.startsWith("[")) {
            int end = s.indexOf(']');
            if (end < 0 || end + 1 >= s.length() || s.charAt(end + 1) != ':') {
                throw new IllegalArgumentException(expected + ", got '" + s + "'");
            }
            host = s.substring(1, end);
            port = s.substring(end + 2);
            if (host.isEmpty() || !host.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.')
                    || host.indexOf(':') < 0) {
                throw new IllegalArgumentException("'" + host + "' is not an IPv6 address; " + expected);
            }
            try {
                host = InetAddress.getByName(host).getHostAddress();
                if (host.indexOf('%') >= 0) {
                    host = host.substring(0, host.indexOf('%'));
                }
                if (endpoint) {
                    host = io.netty.util.NetUtil.toAddressString(InetAddress.getByName(host));
                } else if (host.equals("0:0:0:0:0:0:0:0")) {
                    host = "::";
                } else if (host.equals("0:0:0:0:0:0:0:1")) {
                    host = "::1";
                }
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("'" + host + "' is not an IPv6 address; " + expected);
            }
        } else {
            int colon = s.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("'" + s + "' has no port; " + expected);
            }
            if (s.indexOf(':') != colon) {
                throw new IllegalArgumentException("put IPv6 addresses in brackets, e.g. \"[::1]:8080\"; got '" + s + "'");
            }
            host = s.substring(0, colon).toLowerCase(Locale.ROOT);
            port = s.substring(colon + 1);
            if (host.isEmpty()) {
                host = "0.0.0.0";
            } else if (IPV4.matcher(host).matches()) {
                for (String octet : host.split("\\.")) {
                    if (Integer.parseInt(octet) > 255) {
                        throw new IllegalArgumentException("'" + host + "' is not an IPv4 address; " + expected);
                    }
                }
            } else if (!HOST_NAME.matcher(host).matches()) {
                throw new IllegalArgumentException("'" + host + "' is not a valid host; " + expected);
            }
        }
        int min = endpoint ? 1 : 0;
        if (!port.matches("[0-9]{1,5}") || Integer.parseInt(port) > 65535 || Integer.parseInt(port) < min) {
            throw new IllegalArgumentException("port must be a number between " + min + " and 65535, got '" + port
                    + "' in '" + s + "'");
        }
        if (endpoint && (host.equals("0.0.0.0") || host.equals("::"))) {
            throw new IllegalArgumentException("'" + host + "' means all interfaces, which is not an address to"
                    + " connect to; name the upstream's address, e.g. 127.0.0.1 for this machine");
        }
        return new Address(host, Integer.parseInt(port));
    }

    private ListenerConfig.Limits limits(Node node, String path) {
        ListenerConfig.Limits d = ListenerConfig.Limits.defaults();
        Fields f = r.map(node, path, LIMIT_KEYS);
        if (f == null) {
            return d;
        }
        return new ListenerConfig.Limits(
                f.get("max_request_line", d.maxRequestLine(), (n, p) -> r.size(n, p, 1, Integer.MAX_VALUE).map(Long::intValue)),
                f.get("max_header_size", d.maxHeaderSize(), (n, p) -> r.size(n, p, 1, Integer.MAX_VALUE).map(Long::intValue)),
                f.get("max_header_count", d.maxHeaderCount(), (n, p) -> r.int32(n, p, 1, Integer.MAX_VALUE)),
                f.get("max_body_size", d.maxBodySize(), (n, p) -> r.size(n, p, 0, Long.MAX_VALUE)),
                f.get("max_connections", d.maxConnections(), (n, p) -> r.int32(n, p, 1, Integer.MAX_VALUE)),
                f.get("max_connections_per_client", d.maxConnectionsPerClient(), (n, p) -> r.int32(n, p, 0, Integer.MAX_VALUE)));
    }

    private ListenerConfig.Timeouts timeouts(Node node, String path) {
        ListenerConfig.Timeouts d = ListenerConfig.Timeouts.defaults();
        Fields f = r.map(node, path, TIMEOUT_KEYS);
        if (f == null) {
            return d;
        }
        return new ListenerConfig.Timeouts(
                f.get("request_head", d.requestHead(), r::duration),
                f.get("request_body", d.requestBody(), r::duration),
                f.get("keep_alive", d.keepAlive(), r::duration));
    }

    private ListenerConfig.Http2 http2(Node node, String path) {
        ListenerConfig.Http2 d = ListenerConfig.Http2.defaults();
        Fields f = r.map(node, path, HTTP2_KEYS);
        if (f == null) {
            return d;
        }
        return new ListenerConfig.Http2(
                f.get("enabled", d.enabled(), r::bool),
                f.get("h2c_upgrade", d.h2cUpgrade(), r::bool),
                f.get("max_concurrent_streams", d.maxConcurrentStreams(), (n, p) -> r.int32(n, p, 1, Integer.MAX_VALUE)),
                // RFC 9113 section 6.9.2: a window is at most 2^31-1; the connection's starts at 65535.
                f.get("initial_window_size", d.initialWindowSize(), (n, p) -> intSize(n, p, 1, Integer.MAX_VALUE)),
                f.get("connection_window_size", d.connectionWindowSize(), (n, p) -> intSize(n, p, 65_535, Integer.MAX_VALUE)),
                // Section 6.5.2: SETTINGS_MAX_FRAME_SIZE is between 2^14 and 2^24-1.
                f.get("max_frame_size", d.maxFrameSize(), (n, p) -> intSize(n, p, 16_384, 16_777_215)),
                f.get("max_header_list_size", d.maxHeaderListSize(), (n, p) -> intSize(n, p, 1024, Integer.MAX_VALUE)),
                f.get("header_table_size", d.headerTableSize(), (n, p) -> intSize(n, p, 0, Integer.MAX_VALUE)),
                f.get("max_continuation_frames", d.maxContinuationFrames(), (n, p) -> r.int32(n, p, 1, Integer.MAX_VALUE)),
                f.get("max_resets", d.maxResets(), (n, p) -> r.int32(n, p, 1, Integer.MAX_VALUE)),
                f.get("reset_window", d.resetWindow(), this::wholeSeconds),
                f.get("max_control_frames", d.maxControlFrames(), (n, p) -> r.int32(n, p, 1, Integer.MAX_VALUE)),
                f.get("control_frame_window", d.controlFrameWindow(), r::duration),
                f.get("max_queued_control_frames", d.maxQueuedControlFrames(), (n, p) -> r.int32(n, p, 1, Integer.MAX_VALUE)),
                f.get("flow_control_timeout", d.flowControlTimeout(), r::duration));
    }

    private Optional<Integer> intSize(Node node, String path, long min, long max) {
        return r.size(node, path, min, max).map(Long::intValue);
    }

    /** A duration Netty counts in whole seconds: at least 1s, and a multiple of a second. */
    private Optional<Duration> wholeSeconds(Node node, String path) {
        Optional<Duration> d = r.duration(node, path);
        if (d.isPresent() && (d.get().compareTo(Duration.ofSeconds(1)) < 0 || d.get().toNanos() % 1_000_000_000L != 0)) {
            r.problem(node, path, "expected whole seconds, at least 1s, e.g. 30s; got " + ConfigReader.describe(node));
            return Optional.empty();
        }
        return d;
    }

    // ---------------------------------------------------------------------------------------------- access log

    private AccessLogConfig accessLog(Node node, String path) {
        AccessLogConfig d = AccessLogConfig.defaults();
        String expected = "off, on, or a mapping with 'format' and 'output'";
        if (r.failed(node)) {
            return d;
        }
        if (ConfigReader.isScalar(node)) {
            String t = r.text((ScalarNode) node).strip().toLowerCase(Locale.ROOT);
            return switch (t) {
                case "off", "false" -> new AccessLogConfig(false, d.format(), d.output());
                case "on", "true" -> d;
                default -> {
                    r.problem(node, path, "expected " + expected + ", got " + ConfigReader.describe(node));
                    yield d;
                }
            };
        }
        Fields f = r.map(node, path, ACCESS_LOG_KEYS);
        if (f == null) {
            return d;
        }
        AccessLogConfig.Format format = f.get("format", d.format(),
                (n, p) -> r.choice(n, p, List.of("combined", "json"))
                        .map(s -> AccessLogConfig.Format.valueOf(s.toUpperCase(Locale.ROOT))));
        String output = f.get("output", d.output(), (n, p) -> r.string(n, p, "stdout, stderr or a file path")
                .flatMap(s -> accessLogOutput(n, p, s.strip())));
        return new AccessLogConfig(true, format, output);
    }

    private Optional<String> accessLogOutput(Node node, String path, String s) {
        if (s.equals("stdout") || s.equals("stderr")) {
            return Optional.of(s);
        }
        if (s.isEmpty()) {
            r.problem(node, path, "expected stdout, stderr or a file path, got an empty string");
            return Optional.empty();
        }
        Optional<Path> file = resolve(node, path, s);
        if (file.isEmpty()) {
            return Optional.empty();
        }
        if (Files.isDirectory(file.get())) {
            r.problem(node, path, file.get() + " is a directory; expected a file path");
            return Optional.empty();
        }
        Path parent = file.get().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            r.problem(node, path, "directory " + parent + " does not exist; create it or choose another file");
            return Optional.empty();
        }
        return Optional.of(file.get().toString());
    }

    private Optional<Path> resolve(Node node, String path, String text) {
        try {
            return Optional.of(baseDir.resolve(text).toAbsolutePath().normalize());
        } catch (InvalidPathException e) {
            r.problem(node, path, "not a valid file path: " + e.getReason());
            return Optional.empty();
        }
    }

    // ---------------------------------------------------------------------------------------------- sites

    private List<SiteConfig> sites(Fields top) {
        List<SiteConfig> out = new ArrayList<>();
        if (!top.has("sites")) {
            r.problem(top.node, "sites", "no sites; add at least one, e.g. sites: [{routes: [{respond: \"hello\"}]}]");
            return out;
        }
        List<Node> items = r.list(top.value("sites"), top.path("sites"), false, "site mappings");
        if (items == null) {
            return out;
        }
        if (items.isEmpty()) {
            r.problem(ConfigReader.isNull(top.value("sites")) ? top.keyNode("sites") : top.value("sites"),
                    "sites", "no sites; list at least one site");
        }
        SiteState state = new SiteState();
        for (int i = 0; i < items.size(); i++) {
            SiteConfig s = site(items.get(i), ConfigReader.index(top.path("sites"), i), state);
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }

    private static final class SiteState {
        final Map<String, String> hosts = new HashMap<>();
        final Map<String, String> names = new HashMap<>();
        String defaultSite;
    }

    private SiteConfig site(Node node, String path, SiteState state) {
        Fields f = r.map(node, path, SITE_KEYS, SITE_HINTS);
        if (f == null) {
            return null;
        }
        List<String> hosts = new ArrayList<>();
        String firstHostText = null;
        int problemsBefore = r.problemCount();
        boolean isDefault = false;
        if (f.has("host") && f.has("hosts")) {
            r.problem(f.keyNode("hosts"), f.path("hosts"), "use either 'host' or 'hosts', not both");
        } else if (f.has("host") || f.has("hosts")) {
            String key = f.has("host") ? "host" : "hosts";
            List<Node> items = key.equals("host") ? List.of(f.value(key))
                    : r.list(f.value(key), f.path(key), true, "host names");
            if (items != null) {
                if (items.isEmpty()) {
                    r.problem(f.value(key), f.path(key), "empty host list; list host names, or omit '" + key
                            + "' for the default site");
                }
                boolean star = false;
                for (int i = 0; i < items.size(); i++) {
                    String p = key.equals("host") ? f.path(key) : ConfigReader.index(f.path(key), i);
                    Node item = items.get(i);
                    if (firstHostText == null && item instanceof ScalarNode sn) {
                        firstHostText = r.text(sn).strip().toLowerCase(Locale.ROOT);
                    }
                    Optional<String> h = r.string(item, p, "a host name such as example.com or *.example.com")
                            .flatMap(t -> hostPattern(item, p, t));
                    if (h.isEmpty()) {
                        continue;
                    }
                    if (h.get().equals("*")) {
                        star = true;
                        if (items.size() > 1) {
                            r.problem(item, p, "'*' makes this the default site and must be the only host;"
                                    + " remove it or the other host names");
                        }
                        continue;
                    }
                    String first = state.hosts.putIfAbsent(h.get(), path);
                    if (first != null) {
                        r.problem(item, p, "duplicate host: '" + h.get() + "' is already served by "
                                + (first.equals(path) ? "this site" : first));
                        continue;
                    }
                    hosts.add(h.get());
                }
                isDefault = star && items.size() == 1;
            }
        } else {
            isDefault = true;
        }
        if (isDefault) {
            if (state.defaultSite != null) {
                String hostKey = f.has("host") ? "host" : f.has("hosts") ? "hosts" : null;
                Node at = hostKey != null ? f.value(hostKey) : node;
                r.problem(at, hostKey != null ? f.path(hostKey) : path, "more than one default site: " + state.defaultSite + " is already the default"
                        + " (no hosts, or '*'); give this site 'hosts'");
            } else {
                state.defaultSite = path;
            }
        }
        boolean hostProblems = r.problemCount() != problemsBefore;
        String dfltName = isDefault || firstHostText == null || firstHostText.equals("*") ? "default" : firstHostText;
        String name = f.get("name", dfltName, (n, p) -> nonEmpty(n, p, "a site name"));
        String firstName = state.names.putIfAbsent(name, path);
        if (firstName != null && (f.has("name") || (!isDefault && !hostProblems))) {
            r.problem(f.has("name") ? f.value("name") : node, f.has("name") ? f.path("name") : path,
                    "duplicate site name '" + name + "'; already used by " + firstName);
        }
        ErrorPages errorPages = f.has("error_pages") ? errorPages(f.value("error_pages"), f.path("error_pages"))
                : ErrorPages.NONE;
        List<RouteConfig> routes = new ArrayList<>();
        if (!f.has("routes")) {
            r.problem(node, f.path("routes"), "missing; a site needs at least one route, e.g. routes: [{static: ./public}]");
        } else {
            List<Node> items = r.list(f.value("routes"), f.path("routes"), false, "route mappings");
            if (items != null) {
                if (items.isEmpty()) {
                    r.problem(ConfigReader.isNull(f.value("routes")) ? f.keyNode("routes") : f.value("routes"),
                            f.path("routes"), "no routes; a site needs at least one route");
                }
                Map<String, String> routeNames = new HashMap<>();
                for (int i = 0; i < items.size(); i++) {
                    RouteConfig rc = route(items.get(i), ConfigReader.index(f.path("routes"), i), name, i, routeNames);
                    if (rc != null) {
                        routes.add(rc);
                    }
                }
            }
        }
        return new SiteConfig(name, hosts, routes, errorPages, r.pos(node));
    }

    /** Lower-cased host pattern: an exact name, "*." + suffix, or "*" (default site). */
    private Optional<String> hostPattern(Node node, String path, String text) {
        String h = text.strip().toLowerCase(Locale.ROOT);
        if (h.equals("*")) {
            return Optional.of(h);
        }
        String expected = "expected a host name such as example.com or a wildcard such as *.example.com";
        String name = h.startsWith("*.") ? h.substring(2) : h;
        String problem = null;
        if (h.isEmpty()) {
            problem = expected + ", got an empty string";
        } else if (h.contains("://") || h.contains("/")) {
            problem = "a host pattern is a name only, without scheme or path; " + expected + ", got '" + text + "'";
        } else if (name.contains(":") && !name.startsWith("[")) {
            String bare = h.substring(0, h.indexOf(':'));
            problem = "a host pattern has no port (every site is served on every listener); write '" + bare
                    + "' instead of '" + text.strip() + "'";
        } else if (name.contains("*")) {
            problem = "a wildcard must be the whole first label, as in *.example.com; got '" + text + "'";
        } else if (name.chars().anyMatch(Character::isWhitespace)) {
            problem = "a host name cannot contain spaces; got '" + text + "'";
        } else if (!HOST_NAME.matcher(name).matches()) {
            problem = expected + ", got '" + text + "'";
        }
        if (problem != null) {
            r.problem(node, path, problem);
            return Optional.empty();
        }
        return Optional.of(h);
    }

    private Optional<String> nonEmpty(Node node, String path, String what) {
        Optional<String> s = r.string(node, path, what).map(String::strip);
        if (s.isPresent() && s.get().isEmpty()) {
            r.problem(node, path, "expected " + what + ", got an empty string");
            return Optional.empty();
        }
        return s;
    }

    // ---------------------------------------------------------------------------------------------- error pages

    private ErrorPages errorPages(Node node, String path) {
        Fields f = r.map(node, path, null);
        if (f == null) {
            return ErrorPages.NONE;
        }
        Map<String, ErrorPages.Page> pages = new LinkedHashMap<>();
        Map<String, String> seen = new HashMap<>();
        for (String key : f.keys()) {
            String k = key.strip().toLowerCase(Locale.ROOT);
            Node keyNode = f.keyNode(key);
            String p = f.path(key);
            boolean status = k.matches("[0-9]{3}") && Integer.parseInt(k) >= 400 && Integer.parseInt(k) <= 599;
            boolean klass = k.equals("4xx") || k.equals("5xx");
            if (!status && !klass) {
                r.problem(keyNode, p, "expected an error status between 400 and 599 (such as 404) or a class"
                        + " (4xx or 5xx) as the key, got '" + key + "'");
                continue;
            }
            String first = seen.putIfAbsent(k, p);
            if (first != null) {
                r.problem(keyNode, p, "duplicate error page for " + k + "; already set by " + first);
                continue;
            }
            Node value = f.value(key);
            Optional<String> html = Optional.empty();
            Optional<String> json = Optional.empty();
            if (ConfigReader.isScalar(value)) {
                html = r.string(value, p, "an HTML file path").flatMap(s -> readPage(value, p, s));
                if (html.isEmpty()) {
                    continue;
                }
            } else {
                Fields pf = r.map(value, p, ERROR_PAGE_KEYS);
                if (pf == null) {
                    continue;
                }
                if (!pf.has("html") && !pf.has("json")) {
                    r.problem(value, p, "expected an HTML file path, or a mapping with 'html' and/or 'json' file paths");
                    continue;
                }
                html = pf.get("html", Optional.empty(), (n, q) -> r.string(n, q, "an HTML file path")
                        .flatMap(s -> readPage(n, q, s)).map(Optional::of));
                json = pf.get("json", Optional.empty(), (n, q) -> r.string(n, q, "a JSON file path")
                        .flatMap(s -> readPage(n, q, s)).map(Optional::of));
            }
            pages.put(k, new ErrorPages.Page(html, json));
        }
        return pages.isEmpty() ? ErrorPages.NONE : new ErrorPages(pages);
    }

    private Optional<String> readPage(Node node, String path, String text) {
        Optional<Path> file = resolve(node, path, text.strip());
        if (file.isEmpty()) {
            return Optional.empty();
        }
        Path f = file.get();
        try {
            if (!Files.exists(f)) {
                r.problem(node, path, "file " + f + " does not exist");
                return Optional.empty();
            }
            if (!Files.isRegularFile(f)) {
                r.problem(node, path, f + " is not a regular file");
                return Optional.empty();
            }
            if (Files.size(f) > MAX_ERROR_PAGE_BYTES) {
                r.problem(node, path, "file " + f + " is larger than 1MiB; error pages must be small");
                return Optional.empty();
            }
            byte[] bytes = Files.readAllBytes(f);
            return Optional.of(StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString());
        } catch (CharacterCodingException e) {
            r.problem(node, path, "file " + f + " is not valid UTF-8 text");
        } catch (IOException e) {
            r.problem(node, path, "cannot read " + f + ": " + e.getMessage());
        }
        return Optional.empty();
    }

    // ---------------------------------------------------------------------------------------------- routes

    private RouteConfig route(Node node, String path, String siteName, int index, Map<String, String> names) {
        Fields f = r.map(node, path, ROUTE_KEYS, ROUTE_HINTS);
        if (f == null) {
            return null;
        }
        String name = f.get("name", siteName + "#" + index, (n, p) -> nonEmpty(n, p, "a route name"));
        String first = names.putIfAbsent(name, path);
        if (first != null) {
            r.problem(f.has("name") ? f.value("name") : node, f.has("name") ? f.path("name") : path,
                    "duplicate route name '" + name + "' in this site; already used by " + first);
        }
        Optional<PathMatch> match = Optional.empty();
        if (f.has("path") && f.has("regex")) {
            r.problem(f.keyNode("regex"), f.path("regex"), "use either 'path' or 'regex', not both");
        } else if (f.has("path")) {
            match = r.parsed(f.value("path"), f.path("path"), "a path such as /api/* or /health", ConfigLoader::pathMatch);
        } else if (f.has("regex")) {
            match = r.string(f.value("regex"), f.path("regex"), "a regular expression")
                    .flatMap(s -> regex(f.value("regex"), f.path("regex"), s));
        }
        List<String> methods = List.of();
        if (f.has("methods")) {
            methods = methods(f.value("methods"), f.path("methods"));
        }
        Map<String, String> headers = Map.of();
        if (f.has("headers")) {
            headers = headers(f.value("headers"), f.path("headers"), false, false,
                    "an exact value, or \"*\" for any value");
        }
        ErrorPages errorPages = f.has("error_pages") ? errorPages(f.value("error_pages"), f.path("error_pages"))
                : ErrorPages.NONE;

        List<String> handlers = f.keys().stream().filter(HANDLER_KEYS::contains).toList();
        HandlerConfig handler = null;
        boolean misspelledHandler = f.unknown.stream().anyMatch(k -> Suggestions.closest(k, ROUTE_KEYS)
                .filter(HANDLER_KEYS::contains).isPresent() || ROUTE_HINTS.containsKey(k));
        if (handlers.isEmpty() && !misspelledHandler) {
            r.problem(node, path, "no handler; a route needs exactly one of: " + String.join(", ", HANDLER_KEYS));
        }
        for (int i = 0; i < handlers.size(); i++) {
            String key = handlers.get(i);
            if (i > 0) {
                r.problem(f.keyNode(key), f.path(key), "a route has exactly one handler, but '" + handlers.getFirst()
                        + "' is already given at line " + r.pos(f.keyNode(handlers.getFirst())).line()
                        + "; keep one of: " + String.join(", ", HANDLER_KEYS));
            }
            HandlerConfig h = switch (key) {
                case "static" -> staticHandler(f.value(key), f.path(key));
                case "proxy" -> proxyHandler(f.value(key), f.path(key));
                case "respond" -> respondHandler(f.value(key), f.path(key));
                default -> redirectHandler(f.value(key), f.path(key));
            };
            if (i == 0) {
                handler = h;
            }
        }
        return new RouteConfig(name, match, methods, headers, handler, errorPages, r.pos(node));
    }

    static PathMatch pathMatch(String text) {
        String s = text.strip();
        if (!s.startsWith("/")) {
            throw new IllegalArgumentException("a path must start with '/', e.g. /api/* or /health; got '" + text + "'");
        }
        if (s.indexOf('?') >= 0 || s.indexOf('#') >= 0) {
            throw new IllegalArgumentException("a path condition matches the path only, without '?' query or '#'"
                    + " fragment; got '" + text + "'");
        }
        if (s.chars().anyMatch(c -> Character.isWhitespace(c) || Character.isISOControl(c))) {
            throw new IllegalArgumentException("a path cannot contain spaces or control characters; got '" + text + "'");
        }
        int star = s.indexOf('*');
        if (star >= 0 && star != s.length() - 1) {
            throw new IllegalArgumentException("'*' may only be the last character, as in /static/*;"
                    + " use 'regex' for other patterns; got '" + text + "'");
        }
        return star < 0 ? new PathMatch.Exact(s) : new PathMatch.Prefix(s.substring(0, star));
    }

    private Optional<PathMatch> regex(Node node, String path, String text) {
        if (text.isEmpty()) {
            r.problem(node, path, "expected a regular expression, got an empty string");
            return Optional.empty();
        }
        try {
            return Optional.of(new PathMatch.Regex(Pattern.compile(text)));
        } catch (PatternSyntaxException e) {
            String where = e.getIndex() >= 0 ? " at character " + (e.getIndex() + 1) : "";
            r.problem(node, path, "invalid regular expression: " + e.getDescription() + where + " in '" + text + "'");
            return Optional.empty();
        }
    }

    private List<String> methods(Node node, String path) {
        List<Node> items = r.list(node, path, true, "HTTP methods");
        if (items == null) {
            return List.of();
        }
        if (items.isEmpty()) {
            r.problem(node, path, "empty method list; list methods such as [GET, HEAD], or remove 'methods' to allow all");
            return List.of();
        }
        boolean single = !(node instanceof SequenceNode);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            String p = single ? path : ConfigReader.index(path, i);
            r.parsed(items.get(i), p, "an HTTP method such as GET", s -> {
                String m = s.strip().toUpperCase(Locale.ROOT);
                if (!TOKEN.matcher(m).matches()) {
                    throw new IllegalArgumentException("expected an HTTP method such as GET or POST, got '" + s + "'");
                }
                return m;
            }).filter(m -> !out.contains(m)).ifPresent(out::add);
        }
        return out;
    }

    /** A header-name → value mapping; names are validated tokens, values strings without control characters. */
    private Map<String, String> headers(Node node, String path, boolean templates, boolean nullIsEmpty,
                                        String valueWhat) {
        Fields f = r.map(node, path, null);
        if (f == null) {
            return Map.of();
        }
        Map<String, String> out = new LinkedHashMap<>();
        Map<String, String> lower = new HashMap<>();
        for (String key : f.keys()) {
            String p = f.path(key);
            if (!TOKEN.matcher(key).matches()) {
                r.problem(f.keyNode(key), p, "expected a header name (letters, digits and !#$%&'*+-.^_`|~), got '" + key + "'");
                continue;
            }
            String first = lower.putIfAbsent(key.toLowerCase(Locale.ROOT), p);
            if (first != null) {
                r.problem(f.keyNode(key), p, "duplicate header (names are case-insensitive); already set by " + first);
                continue;
            }
            Node v = f.value(key);
            Optional<String> value = ConfigReader.isNull(v) && nullIsEmpty ? Optional.of("")
                    : r.parsed(v, p, valueWhat, s -> {
                        checkHeaderValue(s);
                        return s;
                    });
            if (value.isPresent() && templates) {
                value = template(v, p, value.get());
            }
            if (templates && (key.equalsIgnoreCase("content-length") || key.equalsIgnoreCase("transfer-encoding"))) {
                r.problem(f.keyNode(key), p, key + " is set by Turnpike from the body; remove it");
                continue;
            }
            value.ifPresent(s -> out.put(key, s));
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------- handlers

    private HandlerConfig.Static staticHandler(Node node, String path) {
        Fields f;
        Node rootNode;
        String rootPath;
        if (ConfigReader.isScalar(node)) {
            f = null;
            rootNode = node;
            rootPath = path;
        } else {
            f = r.map(node, path, STATIC_KEYS);
            if (f == null) {
                return null;
            }
            rootNode = f.value("root");
            rootPath = f.path("root");
            if (!f.has("root")) {
                r.problem(node, rootPath, "missing; expected the directory to serve, e.g. root: ./public");
            }
        }
        Optional<Path> root = Optional.empty();
        if (f == null || f.has("root")) {
            root = r.string(rootNode, rootPath, "a directory path").flatMap(s -> staticRoot(rootNode, rootPath, s));
        }
        if (f == null) {
            return root.map(p -> new HandlerConfig.Static(p, List.of("index.html"), Optional.empty(),
                    HandlerConfig.Static.Listing.OFF, false, true, Optional.empty(), Optional.empty())).orElse(null);
        }
        List<String> index = List.of("index.html");
        if (f.has("index")) {
            List<Node> items = r.list(f.value("index"), f.path("index"), true, "file names");
            if (items != null) {
                boolean single = !(f.value("index") instanceof SequenceNode);
                List<String> names = new ArrayList<>();
                for (int i = 0; i < items.size(); i++) {
                    String p = single ? f.path("index") : ConfigReader.index(f.path("index"), i);
                    r.parsed(items.get(i), p, "a file name such as index.html", s -> {
                        String n = s.strip();
                        if (n.isEmpty() || n.contains("/") || n.contains("\\") || n.equals("..") || n.equals(".")) {
                            throw new IllegalArgumentException("expected a file name such as index.html (no directories), got '" + s + "'");
                        }
                        return n;
                    }).ifPresent(names::add);
                }
                index = names;
            }
        }
        Optional<Path> rootDir = root;
        Optional<String> spa = f.get("spa_fallback", Optional.empty(),
                (n, p) -> r.string(n, p, "a file name relative to root, such as index.html")
                        .flatMap(s -> spaFallback(n, p, s.strip(), rootDir)).map(Optional::of));
        HandlerConfig.Static.Listing listing = f.get("listing", HandlerConfig.Static.Listing.OFF,
                (n, p) -> r.bool(n, p).map(b -> b ? HandlerConfig.Static.Listing.ON : HandlerConfig.Static.Listing.OFF));
        boolean showHidden = f.get("show_hidden", false, r::bool);
        boolean precompressed = f.get("precompressed", true, r::bool);
        Optional<String> cacheControl = f.get("cache_control", Optional.empty(),
                (n, p) -> r.parsed(n, p, "a Cache-Control value such as \"public, max-age=3600\"", s -> {
                    checkHeaderValue(s);
                    return Optional.of(s.strip());
                }));
        Optional<String> strip = f.get("strip_prefix", Optional.empty(), this::stripPrefix);
        if (root.isEmpty()) {
            return null;
        }
        return new HandlerConfig.Static(root.get(), index, spa, listing, showHidden, precompressed, cacheControl, strip);
    }

    private Optional<Path> staticRoot(Node node, String path, String text) {
        if (text.isBlank()) {
            r.problem(node, path, "expected a directory path, got an empty string");
            return Optional.empty();
        }
        Optional<Path> dir = resolve(node, path, text.strip());
        if (dir.isEmpty()) {
            return Optional.empty();
        }
        if (!Files.exists(dir.get())) {
            r.problem(node, path, "directory " + dir.get() + " does not exist");
            return Optional.empty();
        }
        if (!Files.isDirectory(dir.get())) {
            r.problem(node, path, dir.get() + " is not a directory");
            return Optional.empty();
        }
        try {
            return Optional.of(dir.get().toRealPath());
        } catch (IOException e) {
            r.problem(node, path, "cannot access " + dir.get() + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    private Optional<String> spaFallback(Node node, String path, String name, Optional<Path> root) {
        if (name.isEmpty() || name.startsWith("/") || name.startsWith("\\")
                || List.of(name.split("[/\\\\]")).contains("..")) {
            r.problem(node, path, "expected a file name relative to root without '..', such as index.html; got '" + name + "'");
            return Optional.empty();
        }
        try {
            if (root.isPresent() && !Files.isRegularFile(root.get().resolve(name))) {
                r.problem(node, path, "file " + root.get().resolve(name) + " does not exist");
                return Optional.empty();
            }
        } catch (InvalidPathException e) {
            r.problem(node, path, "not a valid file name: " + e.getReason());
            return Optional.empty();
        }
        return Optional.of(name);
    }

    private Optional<Optional<String>> stripPrefix(Node node, String path) {
        return r.parsed(node, path, "a path prefix such as /assets", s -> {
            String t = s.strip();
            if (!t.startsWith("/")) {
                throw new IllegalArgumentException("a prefix must start with '/', e.g. /assets; got '" + s + "'");
            }
            if (t.contains("*")) {
                throw new IllegalArgumentException("a prefix is literal text, without '*'; got '" + s + "'");
            }
            return Optional.of(t);
        });
    }

    private HandlerConfig.Proxy proxyHandler(Node node, String path) {
        Duration connect = Duration.ofSeconds(5);
        Duration response = Duration.ofSeconds(60);
        Duration idle = Duration.ofSeconds(60);
        if (ConfigReader.isScalar(node)) {
            return r.parsed(node, path, "an upstream URL such as http://127.0.0.1:3000", s -> {
                        try {
                            return upstream(s);
                        } catch (IllegalArgumentException e) {
                            if (clusters.declared().contains(s.strip())) {
                                throw new IllegalArgumentException(e.getMessage() + "; to proxy to the cluster '"
                                        + s.strip() + "', write proxy: { cluster: " + s.strip() + " }");
                            }
                            throw e;
                        }
                    })
                    .map(u -> new HandlerConfig.Proxy(u, connect, response, idle, false, Optional.empty(), Map.of(), 64))
                    .orElse(null);
        }
        Fields f = r.map(node, path, PROXY_KEYS, PROXY_HINTS);
        if (f == null) {
            return null;
        }
        List<String> targets = f.keys().stream().filter(PROXY_TARGET_KEYS::contains).toList();
        boolean misspelledTarget = f.unknown.stream().anyMatch(k -> Suggestions.closest(k, PROXY_KEYS)
                .filter(PROXY_TARGET_KEYS::contains).isPresent());
        if (targets.isEmpty() && !misspelledTarget) {
            r.problem(f.node, path, "no target; set exactly one of: upstream (a URL such as http://127.0.0.1:3000),"
                    + " cluster (the name of a cluster), split (weighted clusters)");
        }
        for (int i = 1; i < targets.size(); i++) {
            String key = targets.get(i);
            r.problem(f.keyNode(key), f.path(key), "a proxy has exactly one target, but '" + targets.getFirst()
                    + "' is already given at line " + r.pos(f.keyNode(targets.getFirst())).line()
                    + "; keep one of: " + String.join(", ", PROXY_TARGET_KEYS));
        }
        Optional<URI> upstream = f.has("upstream") ? r.parsed(f.value("upstream"), f.path("upstream"),
                "an upstream URL such as http://127.0.0.1:3000", ConfigLoader::upstream) : Optional.empty();
        Optional<String> cluster = f.has("cluster") ? clusterName(f.value("cluster"), f.path("cluster"))
                : Optional.empty();
        Optional<List<HandlerConfig.WeightedCluster>> split = f.has("split")
                ? split(f.value("split"), f.path("split")) : Optional.empty();
        String target = targets.isEmpty() ? null : targets.getFirst();
        if (target != null && !target.equals("upstream")) {
            String home;
            if (target.equals("cluster")) {
                String name = cluster.orElseGet(() -> f.value("cluster") instanceof ScalarNode sn
                        ? Suggestions.closest(r.text(sn).strip(), clusters.declared()).orElse("NAME") : "NAME");
                home = "set it on the cluster: clusters." + name + ".";
            } else {
                String name = split.filter(l -> !l.isEmpty()).map(l -> l.getFirst().cluster()).orElse("NAME");
                home = "set it on the clusters of the split, e.g. clusters." + name + ".";
            }
            URL_ONLY_PROXY_KEYS.forEach((key, where) -> {
                if (f.has(key)) {
                    String stage = where.startsWith("timeouts.") ? where.substring(9) : "";
                    String routeOnly = ROUTE_TIMEOUT_KEYS.contains(stage)
                            ? ", or for this route only: timeouts: { " + stage + ": ... }" : "";
                    r.problem(f.keyNode(key), f.path(key), "'" + key + "' applies only to a proxy to an upstream URL;"
                            + " " + home + where + routeOnly);
                }
            });
        }
        Optional<HandlerConfig.Mirror> mirror = Optional.empty();
        if (f.has("mirror")) {
            Optional<MirrorRead> read = mirror(f.value("mirror"), f.path("mirror"));
            mirror = read.map(MirrorRead::mirror);
            if (read.isPresent() && target != null && !target.equals("upstream")) {
                String m = read.get().mirror().cluster();
                boolean single = target.equals("cluster");
                boolean primary = single ? cluster.filter(m::equals).isPresent()
                        : split.orElse(List.of()).stream().anyMatch(l -> l.cluster().equals(m));
                if (primary) {
                    r.problem(read.get().node(), read.get().path(), "the mirror must be another cluster than the one"
                            + (single ? "" : "s") + " the route proxies to; '" + m + "' already is "
                            + (single ? "the route's cluster" : "a leg of the split"));
                    mirror = Optional.empty();
                }
            }
        }
        boolean preserveHost = f.get("preserve_host", false, r::bool);
        Optional<String> stripPrefix = f.get("strip_prefix", Optional.empty(), this::stripPrefix);
        Map<String, String> setHeaders = f.has("set_headers") ? headers(f.value("set_headers"), f.path("set_headers"),
                false, true, "a header value (\"\" removes the header)") : Map.of();
        boolean streaming = f.get("streaming", false, r::bool);
        HandlerConfig.WebSocket websocket = f.has("websocket") ? websocket(f.value("websocket"), f.path("websocket"))
                : HandlerConfig.WebSocket.defaults();
        HandlerConfig.RouteTimeouts routeTimeouts = HandlerConfig.RouteTimeouts.NONE;
        if (f.has("timeouts")) {
            if (target != null && target.equals("upstream")) {
                r.problem(f.keyNode("timeouts"), f.path("timeouts"), "'timeouts' applies to a proxy to a cluster or"
                        + " a split; for an upstream URL set response_timeout and idle_timeout on the proxy");
            } else {
                routeTimeouts = routeTimeouts(f.value("timeouts"), f.path("timeouts"));
            }
        }
        Optional<HandlerConfig.GrpcWeb> grpcWeb = f.has("grpc_web")
                ? grpcWeb(f.value("grpc_web"), f.path("grpc_web")) : Optional.empty();
        if (grpcWeb.isPresent()) {
            List<String> names = target == null ? List.of() : switch (target) {
                case "cluster" -> cluster.map(List::of).orElse(List.of());
                case "split" -> split.orElse(List.of()).stream().map(HandlerConfig.WeightedCluster::cluster).toList();
                default -> List.of();
            };
            if ("upstream".equals(target)) {
                r.problem(f.keyNode("grpc_web"), f.path("grpc_web"), "gRPC-Web is translated to gRPC, which needs"
                        + " HTTP/2 to the upstream: proxy to a cluster with protocol: h2c (or h2) instead of an upstream URL");
            }
            for (String name : names) {
                clusters.clusters().stream().filter(c -> c.name().equals(name) && !c.protocol().isHttp2())
                        .findFirst().ifPresent(c -> r.problem(f.keyNode("grpc_web"), f.path("grpc_web"), "gRPC-Web"
                                + " is translated to gRPC, which needs HTTP/2 to the upstream; cluster " + name
                                + " speaks " + c.protocol().configName() + ": give it protocol: h2c (or h2 over TLS)"));
            }
        }
        if (target == null || target.equals("upstream")) {
            HandlerConfig.Proxy proxy = new HandlerConfig.Proxy(upstream.orElse(null),
                    f.get("connect_timeout", connect, r::duration),
                    f.get("response_timeout", response, r::duration),
                    f.get("idle_timeout", idle, r::duration),
                    preserveHost, stripPrefix, setHeaders,
                    f.get("max_idle_per_loop", 64, (n, p) -> r.int32(n, p, 0, Integer.MAX_VALUE)),
                    Optional.empty(), List.of(), mirror, HandlerConfig.RouteTimeouts.NONE, streaming, websocket,
                    Optional.empty());
            return upstream.isPresent() ? proxy : null;
        }
        if (target.equals("cluster") ? cluster.isEmpty() : split.isEmpty()) {
            return null;
        }
        ClusterConfig.Timeouts t = ClusterConfig.Timeouts.defaults();
        return new HandlerConfig.Proxy(null, t.connect(), t.firstByte(), t.idle(), preserveHost, stripPrefix,
                setHeaders, ClusterConfig.Pool.defaults().maxIdle(), cluster.filter(c -> target.equals("cluster")),
                target.equals("split") ? split.get() : List.of(), mirror, routeTimeouts, streaming, websocket, grpcWeb);
    }

    /** {@code timeouts: {first_byte: 5m, idle: 10m, total: 0s}} on a proxy route. */
    private HandlerConfig.RouteTimeouts routeTimeouts(Node node, String path) {
        Fields f = r.map(node, path, ROUTE_TIMEOUT_KEYS, ROUTE_TIMEOUT_HINTS);
        if (f == null) {
            return HandlerConfig.RouteTimeouts.NONE;
        }
        return new HandlerConfig.RouteTimeouts(
                f.get("first_byte", Optional.empty(), (n, p) -> r.duration(n, p).map(Optional::of)),
                f.get("idle", Optional.empty(), (n, p) -> r.duration(n, p).map(Optional::of)),
                f.get("total", Optional.empty(), (n, p) -> r.duration(n, p, true).map(Optional::of)));
    }

    /** {@code websocket: false}, {@code websocket: true} (the defaults) or a mapping of settings. */
    private HandlerConfig.WebSocket websocket(Node node, String path) {
        HandlerConfig.WebSocket d = HandlerConfig.WebSocket.defaults();
        if (ConfigReader.isScalar(node) || r.failed(node)) {
            return r.bool(node, path).map(on -> on ? d : HandlerConfig.WebSocket.disabled()).orElse(d);
        }
        Fields f = r.map(node, path, WEBSOCKET_KEYS);
        if (f == null) {
            return d;
        }
        boolean inspect = f.get("inspect", false, r::bool);
        int maxFrame = f.get("max_frame_size", d.maxFrameSize(),
                (n, p) -> r.size(n, p, 125, Integer.MAX_VALUE).map(Long::intValue));
        long maxMessage = f.get("max_message_size", d.maxMessageSize(), (n, p) -> r.size(n, p, 125, Long.MAX_VALUE));
        if (!inspect) {
            for (String key : List.of("max_frame_size", "max_message_size")) {
                if (f.has(key)) {
                    r.problem(f.keyNode(key), f.path(key), "'" + key + "' is only enforced when frames are inspected;"
                            + " add inspect: true, or remove it");
                }
            }
        } else if (f.has("max_frame_size") && maxFrame > maxMessage) {
            r.problem(f.value("max_frame_size"), f.path("max_frame_size"), "a frame cannot be larger than a message:"
                    + " max_frame_size " + Sizes.format(maxFrame) + " is above max_message_size "
                    + Sizes.format(maxMessage));
        }
        List<String> origins = List.of();
        if (f.has("allowed_origins")) {
            origins = origins(f.value("allowed_origins"), f.path("allowed_origins"));
        }
        return new HandlerConfig.WebSocket(true, inspect, maxFrame, maxMessage,
                f.get("idle_timeout", d.idleTimeout(), r::duration),
                f.get("max_connections", 0, (n, p) -> r.int32(n, p, 0, Integer.MAX_VALUE)),
                f.get("max_connections_per_client", 0, (n, p) -> r.int32(n, p, 0, Integer.MAX_VALUE)),
                origins);
    }

    /** Browser origins: {@code scheme://host[:port]}, the host possibly starting with {@code *.}; lower-cased. */
    private List<String> origins(Node node, String path) {
        List<Node> items = r.list(node, path, true, "origins such as [\"https://chat.example.com\"]");
        if (items == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            String p = ConfigReader.index(path, i);
            r.parsed(items.get(i), p, "an origin such as https://chat.example.com", ConfigLoader::origin)
                    .ifPresent(out::add);
        }
        return out;
    }

    /** An origin as browsers send it (RFC 6454): scheme, host and an optional port, nothing else. */
    static String origin(String text) {
        String s = text.strip().toLowerCase(Locale.ROOT);
        String expected = "expected an origin such as https://chat.example.com or https://*.example.com";
        int sep = s.indexOf("://");
        if (sep <= 0) {
            throw new IllegalArgumentException(expected + ", got '" + text + "'");
        }
        String scheme = s.substring(0, sep);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("an origin's scheme is http or https, got '" + text + "'");
        }
        String authority = s.substring(sep + 3);
        if (authority.isEmpty() || authority.contains("/") || authority.contains("?") || authority.contains("#")
                || authority.contains("@")) {
            throw new IllegalArgumentException("an origin has no path, query or user info: " + expected + ", got '"
                    + text + "'");
        }
        String host = authority;
        int colon = authority.lastIndexOf(':');
        if (colon >= 0 && !authority.endsWith("]")) {
            String port = authority.substring(colon + 1);
            if (!port.matches("[0-9]{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
                throw new IllegalArgumentException("invalid port in origin '" + text + "'");
            }
            host = authority.substring(0, colon);
        }
        String name = host.startsWith("*.") ? host.substring(2) : host;
        if (!(HOST_NAME.matcher(name).matches() || IPV4.matcher(name).matches()
                || (name.startsWith("[") && name.endsWith("]") && !host.startsWith("*.")))) {
            throw new IllegalArgumentException("invalid host in origin '" + text + "'; " + expected);
        }
        return scheme + "://" + authority;
    }

    /** {@code true}, {@code false}, or {@code { allow_origins: [...] }} (which turns it on). */
    private Optional<HandlerConfig.GrpcWeb> grpcWeb(Node node, String path) {
        if (ConfigReader.isScalar(node)) {
            return r.bool(node, path).filter(on -> on).map(on -> new HandlerConfig.GrpcWeb(List.of()));
        }
        Fields f = r.map(node, path, GRPC_WEB_KEYS);
        if (f == null) {
            return Optional.empty();
        }
        List<String> origins = new ArrayList<>();
        if (f.has("allow_origins")) {
            Node value = f.value("allow_origins");
            List<Node> items = r.list(value, f.path("allow_origins"), true,
                    "origins such as [\"https://app.example.com\"], or [\"*\"] for any");
            if (items != null) {
                boolean single = !(value instanceof SequenceNode);
                for (int i = 0; i < items.size(); i++) {
                    String p = single ? f.path("allow_origins") : ConfigReader.index(f.path("allow_origins"), i);
                    r.parsed(items.get(i), p, "an origin such as https://app.example.com, or *",
                            o -> o.strip().equals("*") ? "*" : origin(o)).ifPresent(origins::add);
                }
            }
        }
        return Optional.of(new HandlerConfig.GrpcWeb(origins));
    }

    /** A reference to a cluster: must be declared under {@code clusters} (did-you-mean otherwise). */
    private Optional<String> clusterName(Node node, String path) {
        Optional<String> name = r.string(node, path, "the name of a cluster").map(String::strip);
        if (name.isPresent() && name.get().isEmpty()) {
            r.problem(node, path, "expected the name of a cluster, got an empty string");
            return Optional.empty();
        }
        if (name.isEmpty() || !clusters.checkable() || clusters.declared().contains(name.get())) {
            return name;
        }
        Set<String> declared = clusters.declared();
        String message = "unknown cluster '" + name.get() + "'";
        if (declared.isEmpty()) {
            message += "; no clusters are defined: define it under the top-level 'clusters' key";
        } else {
            message += Suggestions.closest(name.get(), declared).map(s -> "; did you mean '" + s + "'?").orElse("")
                    + (Suggestions.closest(name.get(), declared).isPresent() ? " " : "; ")
                    + "defined clusters: " + String.join(", ", declared);
        }
        r.problem(node, path, message);
        return Optional.empty();
    }

    /** {@code [{cluster: v1, weight: 90}, {cluster: v2, weight: 10}]}; empty when any leg is invalid. */
    private Optional<List<HandlerConfig.WeightedCluster>> split(Node node, String path) {
        List<Node> items = r.list(node, path, false, "weighted clusters such as [{cluster: v1, weight: 90},"
                + " {cluster: v2, weight: 10}]");
        if (items == null) {
            return Optional.empty();
        }
        int before = r.problemCount();
        if (items.size() < 2) {
            r.problem(node, path, "a split needs at least 2 legs, e.g. [{cluster: v1, weight: 90}, {cluster: v2,"
                    + " weight: 10}]; to send every request to one cluster write cluster: NAME");
        }
        List<HandlerConfig.WeightedCluster> legs = new ArrayList<>();
        Map<String, String> seen = new HashMap<>();
        for (int i = 0; i < items.size(); i++) {
            String p = ConfigReader.index(path, i);
            Fields lf = r.map(items.get(i), p, SPLIT_LEG_KEYS);
            if (lf == null) {
                continue;
            }
            Optional<String> name = lf.required("cluster", "the cluster of this leg, e.g. cluster: v1",
                    this::clusterName);
            Optional<Integer> weight = lf.required("weight", "a weight between 1 and " + ClusterLoader.MAX_WEIGHT
                    + ", e.g. weight: 10", (n, q) -> r.int32(n, q, 1, ClusterLoader.MAX_WEIGHT));
            if (name.isPresent()) {
                String first = seen.putIfAbsent(name.get(), p);
                if (first != null) {
                    r.problem(lf.value("cluster"), lf.path("cluster"), "cluster '" + name.get() + "' is already a leg"
                            + " of this split (" + first + "); give each cluster one leg");
                    continue;
                }
            }
            if (name.isPresent() && weight.isPresent()) {
                legs.add(new HandlerConfig.WeightedCluster(name.get(), weight.get()));
            }
        }
        return r.problemCount() == before ? Optional.of(legs) : Optional.empty();
    }

    /** A mirror and where its cluster name was written. */
    private record MirrorRead(HandlerConfig.Mirror mirror, Node node, String path) {}

    /** {@code mirror: shadow} or {@code mirror: {cluster: shadow, percent: 10}}. */
    private Optional<MirrorRead> mirror(Node node, String path) {
        if (ConfigReader.isScalar(node) || r.failed(node)) {
            return clusterName(node, path).map(c -> new MirrorRead(new HandlerConfig.Mirror(c, 100), node, path));
        }
        Fields f = r.map(node, path, MIRROR_KEYS);
        if (f == null) {
            return Optional.empty();
        }
        Optional<String> name = f.required("cluster", "the cluster that receives the copies, e.g. cluster: shadow",
                this::clusterName);
        Optional<Integer> percent = f.has("percent") ? r.percent(f.value("percent"), f.path("percent"), 1, 100)
                : Optional.of(100);
        if (name.isEmpty() || percent.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new MirrorRead(new HandlerConfig.Mirror(name.get(), percent.get()), f.value("cluster"),
                f.path("cluster")));
    }

    /** {@code http://host[:port][/base]}: normalised with an explicit port and no trailing slash on the base path. */
    static URI upstream(String text) {
        String s = text.strip();
        String expected = "expected an upstream URL such as http://127.0.0.1:3000";
        URI u;
        try {
            u = new URI(s);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a valid URL (" + e.getReason() + " at character "
                    + (e.getIndex() + 1) + "); " + expected + ", got '" + text + "'");
        }
        if (u.getScheme() == null || u.getRawAuthority() == null) {
            throw new IllegalArgumentException(expected + ", got '" + text + "'");
        }
        String scheme = u.getScheme().toLowerCase(Locale.ROOT);
        if (scheme.equals("https")) {
            throw new IllegalArgumentException("https upstreams are not supported yet (TLS to upstreams comes later);"
                    + " use http://");
        }
        if (!scheme.equals("http")) {
            throw new IllegalArgumentException("unsupported scheme '" + u.getScheme() + "'; " + expected);
        }
        if (u.getRawUserInfo() != null) {
            throw new IllegalArgumentException("user info (credentials) is not allowed in the upstream URL;"
                    + " use set_headers to send an Authorization header");
        }
        if (u.getHost() == null) {
            throw new IllegalArgumentException("invalid host or port in '" + text + "'; " + expected);
        }
        if (u.getRawQuery() != null) {
            throw new IllegalArgumentException("the upstream URL cannot have a query ('?...')");
        }
        if (u.getRawFragment() != null) {
            throw new IllegalArgumentException("the upstream URL cannot have a fragment ('#...')");
        }
        int port = u.getPort() < 0 ? 80 : u.getPort();
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be between 1 and 65535, got " + port);
        }
        String base = u.getRawPath() == null ? "" : u.getRawPath();
        while (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        return URI.create("http://" + u.getHost().toLowerCase(Locale.ROOT) + ":" + port + base);
    }

    private HandlerConfig.Respond respondHandler(Node node, String path) {
        if (r.failed(node)) {
            return null;
        }
        if (ConfigReader.isScalar(node)) {
            ScalarNode s = (ScalarNode) node;
            String t = r.text(s);
            if (Tag.INT.equals(s.getTag()) || (s.isPlain() && t.strip().matches("[0-9]{3}"))) {
                return r.int32(node, path, 200, 599).map(st -> new HandlerConfig.Respond(st, "", Map.of())).orElse(null);
            }
            return r.string(node, path, "a response body or a status")
                    .flatMap(b -> template(node, path, b))
                    .map(b -> new HandlerConfig.Respond(200, b, Map.of())).orElse(null);
        }
        if (ConfigReader.unquotedPlaceholder(node) || ConfigReader.isNull(node)) {
            r.problem(node, path, "expected a response body, a status or a mapping with status, body and headers"
                    + (ConfigReader.isNull(node) ? ", got nothing" : ConfigReader.quoteHint(node)));
            return null;
        }
        Fields f = r.map(node, path, RESPOND_KEYS);
        if (f == null) {
            return null;
        }
        int status = f.get("status", 200, (n, p) -> r.int32(n, p, 200, 599));
        String body = f.get("body", "", (n, p) -> r.string(n, p, "a response body").flatMap(b -> template(n, p, b)));
        if (!body.isEmpty() && (status == 204 || status == 304)) {
            r.problem(f.value("body"), f.path("body"), "a " + status + " response cannot have a body");
        }
        Map<String, String> headers = Map.of();
        if (f.has("headers")) {
            headers = headers(f.value("headers"), f.path("headers"), true, false, "a header value");
        }
        return new HandlerConfig.Respond(status, body, headers);
    }

    private HandlerConfig.Redirect redirectHandler(Node node, String path) {
        if (ConfigReader.isScalar(node)) {
            return r.string(node, path, "a target URL such as https://{host}{uri}")
                    .flatMap(t -> redirectTarget(node, path, t))
                    .map(t -> new HandlerConfig.Redirect(302, t)).orElse(null);
        }
        if (ConfigReader.unquotedPlaceholder(node)) {
            r.problem(node, path, "expected a target URL or a mapping with 'to' and 'status'"
                    + ConfigReader.quoteHint(node));
            return null;
        }
        Fields f = r.map(node, path, REDIRECT_KEYS);
        if (f == null) {
            return null;
        }
        Optional<String> to = f.required("to", "the target URL, e.g. to: \"https://{host}{uri}\"",
                (n, p) -> r.string(n, p, "a target URL such as https://{host}{uri}").flatMap(t -> redirectTarget(n, p, t)));
        int status = f.get("status", 302, (n, p) -> r.int32(n, p, 0, 999).flatMap(s -> {
            if (List.of(301, 302, 303, 307, 308).contains(s)) {
                return Optional.of(s);
            }
            r.problem(n, p, "a redirect status must be one of 301, 302, 303, 307, 308; got " + s);
            return Optional.empty();
        }));
        return to.map(t -> new HandlerConfig.Redirect(status, t)).orElse(null);
    }

    private Optional<String> redirectTarget(Node node, String path, String text) {
        String t = text.strip();
        if (t.isEmpty()) {
            r.problem(node, path, "expected a target URL such as https://{host}{uri}, got an empty string");
            return Optional.empty();
        }
        if (t.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
            r.problem(node, path, "a redirect target cannot contain spaces or control characters; got '" + text + "'");
            return Optional.empty();
        }
        return template(node, path, t);
    }

    /** Checks placeholders with {@link Template#compile}; returns the text unchanged when valid. */
    private Optional<String> template(Node node, String path, String text) {
        try {
            Template.compile(text);
            return Optional.of(text);
        } catch (IllegalArgumentException e) {
            StringBuilder msg = new StringBuilder("invalid placeholder: ").append(e.getMessage());
            Matcher m = PLACEHOLDER.matcher(text);
            while (m.find()) {
                String name = m.group(1);
                if (Template.NAMES.contains(name)) {
                    continue;
                }
                Suggestions.closest(name, Template.NAMES).ifPresent(s -> msg.append("; did you mean {").append(s).append("}?"));
                break;
            }
            r.problem(node, path, msg.toString());
            return Optional.empty();
        }
    }
}
