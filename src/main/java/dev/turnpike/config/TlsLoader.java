package dev.turnpike.config;

import dev.turnpike.config.ConfigReader.Fields;
import dev.turnpike.tls.CertificateFiles;
import dev.turnpike.tls.CipherSuites;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.Tag;

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

/**
 * Reads the {@code tls} block of a listener (see docs/configuration.md, "TLS") in the style of {@link ConfigLoader}.
 * Certificate, key and CA files are read and checked here, so a missing file, bad PEM or a key that does not
 * match its certificate is reported at the line and column that names the file.
 */
final class TlsLoader {

    static final List<String> TLS_KEYS = List.of("cert", "key", "key_password", "client_auth", "certificates",
            "engine", "protocols", "ciphers", "ticket_key_rotation", "ocsp_stapling",
            "handshake_timeout", "reload_interval", "hsts");
    static final List<String> CERTIFICATE_KEYS = List.of("cert", "key", "key_password", "hosts", "default",
            "client_auth");
    static final List<String> CLIENT_AUTH_KEYS = List.of("mode", "ca", "subject_header");
    static final List<String> HSTS_KEYS = List.of("max_age", "include_subdomains", "preload");
    static final List<String> PROTOCOLS = List.of(TlsConfig.TLS_1_2, TlsConfig.TLS_1_3);
    static final List<String> OLD_PROTOCOLS = List.of("SSLv2", "SSLv3", "TLSv1", "TLSv1.0", "TLSv1.1");
    static final Duration DEFAULT_TICKET_KEY_ROTATION = Duration.ofHours(12);
    static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(5);
    /** One year: what browsers' HSTS preload lists require at least. */
    static final Duration PRELOAD_MIN_AGE = Duration.ofDays(365);

    private static final Map<String, String> TLS_HINTS = Map.of("hosts", "certificates[]", "default",
            "certificates[]", "mode", "client_auth", "ca", "client_auth", "subject_header", "client_auth",
            "max_age", "hsts", "include_subdomains", "hsts", "preload", "hsts");

    private final ConfigReader r;
    private final Path baseDir;

    TlsLoader(ConfigReader reader, Path baseDir) {
        this.r = reader;
        this.baseDir = baseDir;
    }

    /** The block, or empty after recording its problems. */
    Optional<TlsConfig> read(Node node, String path) {
        int before = r.problemCount();
        Fields f = r.map(node, path, TLS_KEYS, TLS_HINTS);
        if (f == null) {
            return Optional.empty();
        }
        Optional<TlsConfig.ClientAuth> sharedClientAuth = f.has("client_auth")
                ? clientAuth(f.value("client_auth"), f.path("client_auth")) : Optional.empty();
        List<TlsConfig.Certificate> certificates = new ArrayList<>();
        int defaultIndex = 0;
        boolean shorthand = f.has("cert") || f.has("key") || f.has("key_password");
        if (shorthand && f.has("certificates")) {
            r.problem(f.keyNode("certificates"), f.path("certificates"), "use either 'cert' and 'key' (one"
                    + " certificate) or 'certificates' (a list), not both");
        } else if (shorthand) {
            Optional<Path> cert = f.required("cert", "the certificate chain file, e.g. cert: certs/example.com.pem",
                    this::file);
            Optional<Path> key = f.required("key", "the private key file, e.g. key: certs/example.com.key",
                    this::file);
            Optional<String> password = f.has("key_password") ? r.string(f.value("key_password"),
                    f.path("key_password"), "the password of the key") : Optional.empty();
            if (cert.isPresent() && key.isPresent()) {
                material(f, cert.get(), key.get(), password.orElse(null)).ifPresent(names ->
                        certificates.add(new TlsConfig.Certificate(cert.get(), key.get(), password, List.of(),
                                sharedClientAuth, r.pos(node))));
            }
        } else if (f.has("certificates")) {
            List<Node> items = r.list(f.value("certificates"), f.path("certificates"), false,
                    "certificates, each with 'cert' and 'key'");
            if (items != null) {
                if (items.isEmpty()) {
                    r.problem(f.value("certificates"), f.path("certificates"), "no certificates; list at least one"
                            + " with 'cert' and 'key'");
                }
                Map<String, String> names = new HashMap<>();
                String defaultAt = null;
                for (int i = 0; i < items.size(); i++) {
                    String p = ConfigReader.index(f.path("certificates"), i);
                    Fields cf = r.map(items.get(i), p, CERTIFICATE_KEYS);
                    if (cf == null) {
                        continue;
                    }
                    boolean isDefault = cf.get("default", false, r::bool);
                    if (isDefault) {
                        if (defaultAt != null) {
                            r.problem(cf.value("default"), cf.path("default"), "only one certificate can be the"
                                    + " default; " + defaultAt + " already is");
                        } else {
                            defaultAt = p;
                            defaultIndex = certificates.size();
                        }
                    }
                    Optional<TlsConfig.Certificate> c = certificate(cf, items.get(i), sharedClientAuth, names);
                    if (c.isPresent()) {
                        certificates.add(c.get());
                    } else if (isDefault) {
                        defaultIndex = 0;
                    }
                }
            }
        } else {
            r.problem(node, path + ".cert", "missing; a tls block needs a certificate: cert and key, e.g."
                    + " tls: { cert: certs/example.com.pem, key: certs/example.com.key }, or a 'certificates' list");
        }

        TlsConfig.Engine engine = f.get("engine", TlsConfig.Engine.AUTO, (n, p) -> r.choice(n, p,
                List.of("auto", "openssl", "jdk")).map(s -> TlsConfig.Engine.valueOf(s.toUpperCase(Locale.ROOT))));
        List<String> protocols = f.has("protocols") ? protocols(f.value("protocols"), f.path("protocols"))
                : PROTOCOLS;
        List<String> ciphers = f.has("ciphers") ? ciphers(f.value("ciphers"), f.path("ciphers"))
                : CipherSuites.DEFAULT_TLS12;
        if (f.has("ciphers") && !protocols.contains(TlsConfig.TLS_1_2)) {
            r.problem(f.keyNode("ciphers"), f.path("ciphers"), "'ciphers' sets TLS 1.2 suites, but TLSv1.2 is not"
                    + " in 'protocols'; remove 'ciphers'");
        }
        Duration rotation = f.get("ticket_key_rotation", DEFAULT_TICKET_KEY_ROTATION, r::duration);
        boolean ocsp = f.get("ocsp_stapling", true, r::bool);
        Duration handshake = f.get("handshake_timeout", DEFAULT_HANDSHAKE_TIMEOUT, r::duration);
        Duration reload = f.get("reload_interval", DEFAULT_RELOAD_INTERVAL, r::duration);
        Optional<TlsConfig.Hsts> hsts = f.has("hsts") ? hsts(f.value("hsts"), f.path("hsts")) : Optional.empty();
        if (r.problemCount() != before || certificates.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new TlsConfig(certificates, defaultIndex, engine, protocols, ciphers, rotation,
                ocsp, handshake, reload, hsts, r.pos(node)));
    }

    private Optional<TlsConfig.Certificate> certificate(Fields cf, Node node, Optional<TlsConfig.ClientAuth> shared,
                                                        Map<String, String> seenNames) {
        Optional<Path> cert = cf.required("cert", "the certificate chain file, e.g. cert: certs/example.com.pem",
                this::file);
        Optional<Path> key = cf.required("key", "the private key file, e.g. key: certs/example.com.key", this::file);
        Optional<String> password = cf.has("key_password") ? r.string(cf.value("key_password"),
                cf.path("key_password"), "the password of the key") : Optional.empty();
        List<String> hosts = cf.has("hosts") ? hosts(cf.value("hosts"), cf.path("hosts")) : List.of();
        Optional<TlsConfig.ClientAuth> clientAuth = cf.has("client_auth")
                ? clientAuth(cf.value("client_auth"), cf.path("client_auth")) : shared;
        if (cert.isEmpty() || key.isEmpty()) {
            return Optional.empty();
        }
        Optional<List<String>> fromCert = material(cf, cert.get(), key.get(), password.orElse(null));
        if (fromCert.isEmpty()) {
            return Optional.empty();
        }
        List<String> effective = hosts.isEmpty() ? fromCert.get() : hosts;
        Node at = cf.has("hosts") ? cf.value("hosts") : cf.value("cert");
        String atPath = cf.has("hosts") ? cf.path("hosts") : cf.path("cert");
        for (String name : effective) {
            String first = seenNames.putIfAbsent(name, cf.path);
            if (first != null) {
                r.problem(at, atPath, "'" + name + "' is already served by " + first + (cf.has("hosts") ? ""
                        : " (the names come from the certificate; list this certificate's names with 'hosts')"));
            }
        }
        return Optional.of(new TlsConfig.Certificate(cert.get(), key.get(), password, hosts, clientAuth, r.pos(node)));
    }

    /** Reads the chain and key now; returns the certificate's DNS names, or empty after recording the problem. */
    private Optional<List<String>> material(Fields f, Path cert, Path key, String password) {
        try {
            CertificateFiles.KeyAndChain loaded = CertificateFiles.load(cert, key, password);
            return Optional.of(CertificateFiles.dnsNames(loaded.leaf()));
        } catch (CertificateFiles.Problem p) {
            String k = p.which() == CertificateFiles.Which.KEY ? "key" : "cert";
            r.problem(f.value(k), f.path(k), p.getMessage());
            return Optional.empty();
        }
    }

    private Optional<TlsConfig.ClientAuth> clientAuth(Node node, String path) {
        Fields f = r.map(node, path, CLIENT_AUTH_KEYS);
        if (f == null) {
            return Optional.empty();
        }
        int before = r.problemCount();
        Optional<Boolean> required = f.required("mode", "required or optional, e.g. mode: required",
                (n, p) -> r.choice(n, p, List.of("required", "optional")).map(s -> s.equals("required")));
        Optional<Path> ca = f.required("ca", "the PEM bundle of the CAs that sign client certificates, e.g."
                + " ca: certs/clients-ca.pem", this::file);
        if (ca.isPresent()) {
            try {
                CertificateFiles.readCaBundle(ca.get());
            } catch (CertificateFiles.Problem p) {
                r.problem(f.value("ca"), f.path("ca"), p.getMessage());
            }
        }
        Optional<String> header = f.has("subject_header") ? r.parsed(f.value("subject_header"),
                f.path("subject_header"), "a header name such as X-Client-Cert-Subject",
                s -> ConfigLoader.headerName(s.strip())) : Optional.empty();
        if (r.problemCount() != before || required.isEmpty() || ca.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new TlsConfig.ClientAuth(required.get(), ca.get(), header));
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

    private List<String> hosts(Node node, String path) {
        List<Node> items = r.list(node, path, true, "host names such as example.com or *.example.com");
        if (items == null) {
            return List.of();
        }
        if (items.isEmpty()) {
            r.problem(node, path, "empty host list; list host names, or omit 'hosts' to use the names in the"
                    + " certificate");
        }
        Set<String> out = new LinkedHashSet<>();
        for (int i = 0; i < items.size(); i++) {
            Node item = items.get(i);
            String p = ConfigReader.isScalar(node) ? path : ConfigReader.index(path, i);
            r.string(item, p, "a host name such as example.com or *.example.com").flatMap(t -> host(item, p, t))
                    .ifPresent(h -> {
                        if (!out.add(h)) {
                            r.problem(item, p, "'" + h + "' is listed twice");
                        }
                    });
        }
        return List.copyOf(out);
    }

    private Optional<String> host(Node node, String path, String text) {
        String h = text.strip().toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        String name = h.startsWith("*.") ? h.substring(2) : h;
        String problem = null;
        if (h.equals("*")) {
            problem = "'*' is not a certificate name; mark the certificate for unmatched names with default: true";
        } else if (ConfigLoader.IPV4.matcher(name).matches() || name.contains(":")) {
            problem = "clients send host names, not addresses, to choose a certificate (SNI); a connection to an"
                    + " address gets the default certificate";
        } else if (name.contains("*")) {
            problem = "a wildcard must be the whole first label, as in *.example.com; got '" + text + "'";
        } else if (!ConfigLoader.HOST_NAME.matcher(name).matches()) {
            problem = "expected a host name such as example.com or a wildcard such as *.example.com, got '"
                    + text + "'";
        }
        if (problem != null) {
            r.problem(node, path, problem);
            return Optional.empty();
        }
        return Optional.of(h);
    }

    private List<String> protocols(Node node, String path) {
        List<Node> items = r.list(node, path, true, "protocol versions: TLSv1.2, TLSv1.3");
        if (items == null) {
            return PROTOCOLS;
        }
        if (items.isEmpty()) {
            r.problem(node, path, "no protocols; list TLSv1.2, TLSv1.3 or both");
            return PROTOCOLS;
        }
        Set<String> out = new LinkedHashSet<>();
        for (int i = 0; i < items.size(); i++) {
            Node item = items.get(i);
            String p = ConfigReader.isScalar(node) ? path : ConfigReader.index(path, i);
            Optional<String> t = r.string(item, p, "TLSv1.2 or TLSv1.3").map(String::strip);
            if (t.isEmpty()) {
                continue;
            }
            String v = t.get();
            Optional<String> known = PROTOCOLS.stream().filter(x -> x.equalsIgnoreCase(v)).findFirst();
            if (known.isPresent()) {
                out.add(known.get());
            } else if (OLD_PROTOCOLS.stream().anyMatch(x -> x.equalsIgnoreCase(v))) {
                r.problem(item, p, v + " is insecure and not supported; use TLSv1.2 and TLSv1.3");
            } else {
                r.problem(item, p, "unknown protocol '" + v + "'; expected TLSv1.2 or TLSv1.3");
            }
        }
        return out.isEmpty() ? PROTOCOLS : List.copyOf(out);
    }

    private List<String> ciphers(Node node, String path) {
        List<Node> items = r.list(node, path, true, "TLS 1.2 cipher suites such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        if (items == null) {
            return CipherSuites.DEFAULT_TLS12;
        }
        if (items.isEmpty()) {
            r.problem(node, path, "no cipher suites; list some or omit 'ciphers' for the defaults");
            return CipherSuites.DEFAULT_TLS12;
        }
        Set<String> out = new LinkedHashSet<>();
        for (int i = 0; i < items.size(); i++) {
            Node item = items.get(i);
            String p = ConfigReader.isScalar(node) ? path : ConfigReader.index(path, i);
            Optional<String> t = r.string(item, p, "a cipher suite").map(s -> s.strip().toUpperCase(Locale.ROOT));
            if (t.isEmpty()) {
                continue;
            }
            String c = t.get();
            if (CipherSuites.ACCEPTED_TLS12.contains(c)) {
                out.add(c);
            } else if (CipherSuites.TLS13.contains(c)) {
                r.problem(item, p, c + " is a TLS 1.3 suite; TLS 1.3 suites are always enabled and 'ciphers' lists"
                        + " TLS 1.2 suites only");
            } else if (!c.startsWith("TLS_")) {
                r.problem(item, p, "write cipher suites by their IANA names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
                        + " rather than ECDHE-RSA-AES128-GCM-SHA256; got '" + c + "'");
            } else {
                r.problem(item, p, "unsupported cipher suite '" + c + "'"
                        + Suggestions.closest(c, CipherSuites.ACCEPTED_TLS12).map(s -> "; did you mean '" + s + "'? ")
                        .orElse("; ") + "accepted: " + String.join(", ", CipherSuites.ACCEPTED_TLS12));
            }
        }
        return out.isEmpty() ? CipherSuites.DEFAULT_TLS12 : List.copyOf(out);
    }

    /** {@code hsts: true} (one year), or a mapping. */
    private Optional<TlsConfig.Hsts> hsts(Node node, String path) {
        Duration year = Duration.ofDays(365);
        if (node instanceof ScalarNode s && (Tag.BOOL.equals(s.getTag()) || ConfigReader.isScalar(node))) {
            return r.bool(node, path).filter(b -> b).map(b -> new TlsConfig.Hsts(year, false, false));
        }
        Fields f = r.map(node, path, HSTS_KEYS);
        if (f == null) {
            return Optional.empty();
        }
        Duration maxAge = f.get("max_age", year, (n, p) -> r.duration(n, p, true));
        boolean sub = f.get("include_subdomains", false, r::bool);
        boolean preload = f.get("preload", false, r::bool);
        if (preload && (!sub || maxAge.compareTo(PRELOAD_MIN_AGE) < 0)) {
            r.problem(f.value("preload"), f.path("preload"), "preload lists require include_subdomains: true and a"
                    + " max_age of at least 365d");
        }
        return Optional.of(new TlsConfig.Hsts(maxAge, sub, preload));
    }
}
