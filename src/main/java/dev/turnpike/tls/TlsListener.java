package dev.turnpike.tls;

import dev.turnpike.config.ListenerConfig;
import dev.turnpike.config.TlsConfig;
import dev.turnpike.http.HttpServices;
import dev.turnpike.http.TlsInfo;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * TLS termination for one listener: the certificates and their SslContexts, the choice of certificate by SNI,
 * ALPN, and the background work that keeps them fresh — certificate files polled for changes, session ticket
 * keys rotated, OCSP responses fetched for stapling. That work runs on the blocking executor every
 * {@code reload_interval}; connections (on event loops) only read the current, immutable {@link Selection}.
 */
public final class TlsListener implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TlsListener.class);

    /** OCSP refresh when a responder gives no nextUpdate, and the longest wait between failed attempts. */
    private static final Duration OCSP_DEFAULT_REFRESH = Duration.ofHours(1);
    private static final Duration OCSP_MAX_BACKOFF = Duration.ofHours(1);
    /** TLS 1.3 tickets may not live longer than 7 days (RFC 8446 section 4.6.1). */
    private static final Duration MAX_SESSION_LIFETIME = Duration.ofDays(7);
    static final String REJECT_RENEGOTIATION = "jdk.tls.rejectClientInitiatedRenegotiation";

    private static volatile HttpClient ocspClient;

    static {
        // The JDK engine lets a TLS 1.2 client renegotiate whenever it likes: a cheap way to make the server do a
        // full handshake's work again and again (BoringSSL refuses it). The JDK reads this once, when the JVM's
        // first server-side handshake begins, which is after this class is initialised. An explicit -D wins.
        if (System.getProperty(REJECT_RENEGOTIATION) == null) {
            System.setProperty(REJECT_RENEGOTIATION, "true");
        }
    }

    private final ListenerConfig listener;
    private final TlsConfig config;
    private final SslProvider provider;
    private final Http2Hook http2;
    private final Executor blocking;
    private final List<String> ciphers;
    private final Entry[] entries;
    private final AsciiString hsts;
    private final boolean anyClientAuth;
    private final AtomicBoolean maintaining = new AtomicBoolean();
    private volatile Selection selection;
    private volatile ScheduledFuture<?> maintenance;
    private Instant nextRotation;
    private volatile boolean closed;

    private TlsListener(ListenerConfig listener, TlsConfig config, SslProvider provider, Http2Hook http2,
                        Executor blocking) {
        this.listener = listener;
        this.config = config;
        this.provider = provider;
        this.http2 = http2;
        this.blocking = blocking;
        this.ciphers = supportedCiphers(config, provider);
        this.entries = new Entry[config.certificates().size()];
        for (int i = 0; i < entries.length; i++) {
            entries[i] = new Entry(i, config.certificates().get(i));
        }
        this.hsts = config.hsts().map(h -> AsciiString.cached(h.headerValue())).orElse(null);
        this.anyClientAuth = config.certificates().stream().anyMatch(c -> c.clientAuth().isPresent());
        this.nextRotation = Instant.now().plus(config.ticketKeyRotation());
    }

    /**
     * Loads every certificate, builds the contexts and starts the background work on {@code timers}.
     *
     * @param http2 how to continue when a client picks {@code h2}; null offers HTTP/1.1 only
     * @throws IllegalStateException with an operator-facing message when a certificate cannot be used now
     */
    public static TlsListener start(ListenerConfig listener, Http2Hook http2, EventLoopGroup timers,
                                    Executor blocking) {
        TlsConfig config = listener.tls().orElseThrow(() -> new IllegalArgumentException("not a TLS listener"));
        SslProvider provider = provider(config, listener);
        TlsListener tls = new TlsListener(listener, config, provider, http2, blocking);
        for (Entry e : tls.entries) {
            try {
                e.fingerprint = fingerprint(e.config);
                e.current = tls.load(e);
            } catch (Exception ex) {
                throw new IllegalStateException("listener " + listener.name() + " (" + e.config.position()
                        + "): cannot use " + e.config.cert() + ": " + message(ex), ex);
            }
        }
        tls.selection = tls.select();
        long every = config.reloadInterval().toMillis();
        tls.maintenance = timers.next().scheduleWithFixedDelay(tls::maintainSoon, every, every, TimeUnit.MILLISECONDS);
        tls.maintainSoon(); // the first OCSP fetch, without waiting a whole interval
        LOG.info("listener {}: TLS with {} ({}), {} certificate(s), protocols {}", listener.name(),
                engineName(provider), provider == SslProvider.OPENSSL ? OpenSsl.versionString() : Runtime.version(),
                tls.entries.length, String.join(", ", config.protocols()));
        return tls;
    }

    /** Adds the TLS handlers to a new connection; the HTTP handlers follow once the handshake succeeds. */
    public void initChannel(Channel ch, Supplier<HttpServices> services) {
        ProtocolSelector selector = new ProtocolSelector(this, services);
        ch.pipeline().addLast("tls-plain-http", new PlainHttpAnswer());
        ch.pipeline().addLast("tls-sni", new TlsSniHandler(this, selector, config.handshakeTimeout().toMillis()));
        ch.pipeline().addLast("tls-alpn", selector);
    }

    /**
     * The services for this listener's exchanges: the snapshot's, except that a request for a host whose
     * certificate asks for a client certificate is refused with 421 on a connection that chose another
     * certificate — SNI and Host must not be used to skip client authentication.
     */
    public Supplier<HttpServices> services(Supplier<HttpServices> snapshot) {
        if (!anyClientAuth) {
            return snapshot;
        }
        return new ListenerServices(snapshot, delegate -> exchange -> {
            TlsInfo info = exchange.tls();
            if (info != null && misdirected(info, exchange.host())) {
                exchange.sendError(HttpResponseStatus.MISDIRECTED_REQUEST, "This connection was set up for "
                        + (info.serverName() == null ? "another host" : info.serverName())
                        + "; open a new connection for " + exchange.host() + ".");
                return;
            }
            delegate.dispatch(exchange);
        });
    }

    boolean misdirected(TlsInfo info, String host) {
        int wanted = selection.indexFor(host);
        return wanted != info.certificate() && entries[wanted].config.clientAuth().isPresent();
    }

    public String engineName() {
        return engineName(provider);
    }

    /** The listener's name. */
    public String name() {
        return listener.name();
    }

    static String engineName(SslProvider p) {
        return p == SslProvider.OPENSSL ? "openssl" : "jdk";
    }

    ListenerConfig listener() {
        return listener;
    }

    Http2Hook http2() {
        return http2;
    }

    @Override
    public void close() {
        closed = true;
        ScheduledFuture<?> m = maintenance;
        if (m != null) {
            m.cancel(false);
        }
    }

    // ---- per connection (event loop) ----------------------------------------------------------------------

    /** The certificate for {@code serverName} (null when the client sent none). */
    Loaded select(String serverName) {
        Selection s = selection;
        return s.loaded[s.indexFor(serverName)];
    }

    /** What the handshake established, for {@link TlsInfo}. */
    TlsInfo describe(SSLSession session, String serverName, String alpn, Loaded used) {
        String subject = null;
        if (used.entry.config.clientAuth().isPresent()) {
            try {
                Certificate[] peer = session.getPeerCertificates();
                if (peer.length > 0 && peer[0] instanceof X509Certificate c) {
                    subject = headerSafe(c.getSubjectX500Principal().getName());
                }
            } catch (SSLPeerUnverifiedException e) {
                // Optional client authentication and the client sent no certificate.
            }
        }
        AsciiString header = used.entry.subjectHeader;
        return new TlsInfo(session.getProtocol(), session.getCipherSuite(), serverName, alpn, used.entry.index,
                subject, header, hsts);
    }

    /** RFC 2253 text with everything outside printable ASCII escaped as {@code \XX} UTF-8 bytes (RFC 4514). */
    static String headerSafe(String dn) {
        StringBuilder sb = null;
        for (int i = 0; i < dn.length(); i++) {
            char c = dn.charAt(i);
            if (c >= 0x20 && c < 0x7f) {
                if (sb != null) {
                    sb.append(c);
                }
                continue;
            }
            if (sb == null) {
                sb = new StringBuilder(dn.length() + 16).append(dn, 0, i);
            }
            int cp = dn.codePointAt(i);
            if (Character.isSupplementaryCodePoint(cp)) {
                i++;
            }
            for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                sb.append('\\').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
            }
        }
        return sb == null ? dn : sb.toString();
    }

    // ---- background work (blocking executor) ----------------------------------------------------------------

    private void maintainSoon() {
        if (closed || !maintaining.compareAndSet(false, true)) {
            return;
        }
        try {
            blocking.execute(() -> {
                try {
                    maintain();
                } catch (RuntimeException e) {
                    LOG.warn("listener {}: TLS maintenance failed", listener.name(), e);
                } finally {
                    maintaining.set(false);
                }
            });
        } catch (RejectedExecutionException e) {
            maintaining.set(false); // busy: the next tick tries again
        }
    }

    synchronized void maintain() {
        if (closed) {
            return;
        }
        reloadChangedFiles();
        if (!Instant.now().isBefore(nextRotation)) {
            rotateTicketKeys();
        }
        refreshOcsp();
    }

    /** A new ticket key for every certificate; tickets made with the previous key still resume. */
    synchronized void rotateTicketKeys() {
        nextRotation = Instant.now().plus(config.ticketKeyRotation());
        for (Entry e : entries) {
            e.tickets.rotate();
            e.tickets.applyTo(e.current.context);
        }
        LOG.debug("listener {}: session ticket keys rotated", listener.name());
    }

    private void reloadChangedFiles() {
        boolean changed = false;
        for (Entry e : entries) {
            byte[] print;
            try {
                print = fingerprint(e.config);
            } catch (IOException ex) {
                // Missing or unreadable, perhaps half-way through being replaced: said once, retried every tick.
                if (!e.missingReported) {
                    e.missingReported = true;
                    LOG.warn("listener {}: cannot read the files of certificate {} ({}); still serving the"
                            + " previous one", listener.name(), e.config.cert(), message(ex));
                }
                continue;
            }
            e.missingReported = false;
            if (Arrays.equals(print, e.fingerprint) || Arrays.equals(print, e.failedFingerprint)) {
                continue;
            }
            try {
                Loaded fresh = load(e);
                e.current = fresh;
                e.fingerprint = print;
                e.failedFingerprint = null;
                changed = true;
                LOG.info("listener {}: reloaded certificate {} ({}, valid until {})", listener.name(),
                        e.config.cert(), CertificateFiles.subject(fresh.material.leaf()),
                        fresh.material.leaf().getNotAfter().toInstant());
            } catch (Exception ex) {
                e.failedFingerprint = print;
                LOG.warn("listener {}: certificate {} changed but cannot be used; still serving the previous one: {}",
                        listener.name(), e.config.cert(), message(ex));
            }
        }
        if (changed) {
            selection = select();
        }
    }

    private void refreshOcsp() {
        if (!config.ocspStapling() || provider != SslProvider.OPENSSL) {
            return;
        }
        Instant now = Instant.now();
        for (Entry e : entries) {
            Loaded l = e.current;
            if (l.ocspResponder == null || now.isBefore(l.nextOcspAttempt)) {
                continue;
            }
            X509Certificate leaf = l.material.leaf();
            try {
                OcspStapling.Staple staple = OcspStapling.fetch(ocspClient(), l.ocspResponder, leaf,
                        l.material.chain().get(1));
                l.staple = staple;
                l.ocspFailures = 0;
                l.nextOcspAttempt = staple.refreshAt(Instant.now(), OCSP_DEFAULT_REFRESH);
                if (staple.revoked()) {
                    LOG.error("listener {}: OCSP says certificate {} ({}) is REVOKED; clients will refuse it",
                            listener.name(), e.config.cert(), CertificateFiles.subject(leaf));
                } else {
                    LOG.debug("listener {}: OCSP response for {} stapled until {}", listener.name(), e.config.cert(),
                            staple.nextUpdate());
                }
            } catch (Exception ex) {
                l.ocspFailures++;
                long backoff = Math.min(OCSP_MAX_BACKOFF.toSeconds(), 30L << Math.min(10, l.ocspFailures - 1));
                l.nextOcspAttempt = Instant.now().plusSeconds(backoff);
                OcspStapling.Staple old = l.staple;
                if (old != null && !old.usableAt(Instant.now())) {
                    l.staple = null; // never staple an expired response
                }
                LOG.warn("listener {}: OCSP request for {} to {} failed ({}); {}; next try in {}s", listener.name(),
                        e.config.cert(), l.ocspResponder, message(ex), l.staple != null
                                ? "still stapling the previous response" : "not stapling", backoff);
            }
        }
    }

    private static HttpClient ocspClient() {
        HttpClient c = ocspClient;
        if (c == null) {
            synchronized (TlsListener.class) {
                c = ocspClient;
                if (c == null) {
                    c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5))
                            .followRedirects(HttpClient.Redirect.NORMAL).build();
                    ocspClient = c;
                }
            }
        }
        return c;
    }

    // ---- loading ----------------------------------------------------------------------------------------------

    private Loaded load(Entry e) throws Exception {
        TlsConfig.Certificate c = e.config;
        CertificateFiles.KeyAndChain material = CertificateFiles.load(c.cert(), c.key(), c.keyPassword().orElse(null));
        List<X509Certificate> ca = c.clientAuth().isPresent()
                ? CertificateFiles.readCaBundle(c.clientAuth().get().ca()) : List.of();
        X509Certificate leaf = material.leaf();
        if (leaf.getNotAfter().toInstant().isBefore(Instant.now())) {
            LOG.warn("listener {}: certificate {} ({}) expired on {}", listener.name(), c.cert(),
                    CertificateFiles.subject(leaf), leaf.getNotAfter().toInstant());
        }
        URI responder = null;
        if (config.ocspStapling() && provider == SslProvider.OPENSSL && OpenSsl.isOcspSupported()) {
            responder = OcspStapling.responder(leaf).orElse(null);
            if (responder != null && (material.chain().size() < 2 || !leaf.getIssuerX500Principal()
                    .equals(material.chain().get(1).getSubjectX500Principal()))) {
                LOG.warn("listener {}: {} names an OCSP responder but its issuer's certificate does not follow it"
                        + " in the file; add the intermediate after the certificate to staple OCSP responses",
                        listener.name(), c.cert());
                responder = null;
            }
        }
        SslContext context = build(material, ca, c, responder != null);
        e.tickets.applyTo(context);
        List<String> names = c.hosts().isEmpty() ? CertificateFiles.dnsNames(leaf) : c.hosts();
        return new Loaded(e, material, context, names, responder);
    }

    private SslContext build(CertificateFiles.KeyAndChain material, List<X509Certificate> ca,
                             TlsConfig.Certificate c, boolean ocsp) throws SSLException {
        List<String> alpn = http2 != null ? List.of(ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1)
                : List.of(ApplicationProtocolNames.HTTP_1_1);
        long lifetime = Math.min(config.ticketKeyRotation().multipliedBy(2).toSeconds(),
                MAX_SESSION_LIFETIME.toSeconds());
        SslContextBuilder b = SslContextBuilder.forServer(material.key(), material.chain())
                .sslProvider(provider)
                .protocols(config.protocols())
                .ciphers(ciphers, SupportedCipherSuiteFilter.INSTANCE)
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn))
                .sessionTimeout(Math.max(1, lifetime));
        c.clientAuth().ifPresent(a -> b.clientAuth(a.required() ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL)
                .trustManager(ca));
        if (ocsp) {
            b.enableOcsp(true);
        }
        return b.build();
    }

    /** Host names to certificates: the configured hosts, or the certificate's own names; first entry wins. */
    private Selection select() {
        Loaded[] loaded = new Loaded[entries.length];
        Map<String, Integer> exact = new HashMap<>();
        Map<String, Integer> wildcard = new HashMap<>();
        for (Entry e : entries) {
            loaded[e.index] = e.current;
            for (String name : e.current.names) {
                Map<String, Integer> target = name.startsWith("*.") ? wildcard : exact;
                String key = name.startsWith("*.") ? name.substring(2) : name;
                Integer first = target.putIfAbsent(key, e.index);
                if (first != null && first != e.index) {
                    LOG.warn("listener {}: {} is in certificates {} and {}; serving {} (list names with 'hosts')",
                            listener.name(), name, first, e.index, entries[first].config.cert());
                }
            }
        }
        return new Selection(loaded, Map.copyOf(exact), Map.copyOf(wildcard), config.defaultCertificate());
    }

    /** SHA-256 over the contents of every file of an entry: any change, however the file was replaced. */
    static byte[] fingerprint(TlsConfig.Certificate c) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        List<Path> files = new ArrayList<>(List.of(c.cert(), c.key()));
        c.clientAuth().ifPresent(a -> files.add(a.ca()));
        for (Path p : files) {
            if (Files.size(p) > CertificateFiles.MAX_FILE_BYTES) {
                throw new IOException(p + " is larger than 1 MiB");
            }
            digest.update(Files.readAllBytes(p));
            digest.update((byte) 0);
        }
        return digest.digest();
    }

    private static SslProvider provider(TlsConfig config, ListenerConfig listener) {
        return switch (config.engine()) {
            case OPENSSL -> {
                if (!OpenSsl.isAvailable()) {
                    throw new IllegalStateException("listener " + listener.name() + " (" + config.position()
                            + "): tls.engine is openssl, but BoringSSL cannot be loaded here ("
                            + message(OpenSsl.unavailabilityCause()) + "); use engine: jdk or auto");
                }
                yield SslProvider.OPENSSL;
            }
            case JDK -> SslProvider.JDK;
            case AUTO -> OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        };
    }

    /** The configured TLS 1.2 suites this engine supports, plus the TLS 1.3 suites the JDK needs listed. */
    private static List<String> supportedCiphers(TlsConfig config, SslProvider provider) {
        Set<String> supported;
        if (provider == SslProvider.OPENSSL) {
            supported = OpenSsl.availableJavaCipherSuites();
        } else {
            try {
                supported = Set.of(SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites());
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
        Set<String> out = new LinkedHashSet<>();
        List<String> dropped = new ArrayList<>();
        for (String c : config.ciphers()) {
            if (supported.contains(c)) {
                out.add(c);
            } else {
                dropped.add(c);
            }
        }
        if (!dropped.isEmpty()) {
            LOG.warn("{}: the {} engine does not support {}; they are left out", config.position(),
                    engineName(provider), String.join(", ", dropped));
        }
        if (out.isEmpty() && config.protocols().contains(TlsConfig.TLS_1_2)) {
            throw new IllegalStateException(config.position() + ": none of the configured TLS 1.2 cipher suites"
                    + " is supported by the " + engineName(provider) + " engine");
        }
        out.addAll(CipherSuites.TLS13);
        return List.copyOf(out);
    }

    static String message(Throwable t) {
        if (t == null) {
            return "unknown reason";
        }
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m;
    }

    // ---- state ------------------------------------------------------------------------------------------------

    /** One configured certificate and what is loaded for it now. Mutable fields: maintenance thread only. */
    static final class Entry {
        final int index;
        final TlsConfig.Certificate config;
        final TicketKeys tickets = new TicketKeys();
        final AsciiString subjectHeader;
        volatile Loaded current;
        byte[] fingerprint;
        byte[] failedFingerprint;
        boolean missingReported;

        Entry(int index, TlsConfig.Certificate config) {
            this.index = index;
            this.config = config;
            this.subjectHeader = config.clientAuth().flatMap(TlsConfig.ClientAuth::subjectHeader)
                    .map(AsciiString::cached).orElse(null);
        }
    }

    /** A loaded certificate: replaced as a whole when its files change. */
    static final class Loaded {
        final Entry entry;
        final CertificateFiles.KeyAndChain material;
        final SslContext context;
        final List<String> names;
        /** Where to ask for OCSP responses; null when this certificate is not stapled. */
        final URI ocspResponder;
        /** The response handed to new handshakes; written by the maintenance thread, read on event loops. */
        volatile OcspStapling.Staple staple;
        Instant nextOcspAttempt = Instant.EPOCH;
        int ocspFailures;

        Loaded(Entry entry, CertificateFiles.KeyAndChain material, SslContext context, List<String> names,
               URI ocspResponder) {
            this.entry = entry;
            this.material = material;
            this.context = context;
            this.names = List.copyOf(names);
            this.ocspResponder = ocspResponder;
        }

        /** The DER response to staple now, or null. */
        byte[] stapleNow() {
            OcspStapling.Staple s = staple;
            return s != null && s.usableAt(Instant.now()) ? s.encoded() : null;
        }
    }

    /** What connections read: immutable, swapped whole when a certificate is reloaded. */
    record Selection(Loaded[] loaded, Map<String, Integer> exact, Map<String, Integer> wildcard, int defaultIndex) {
        /** Exact name, then a one-label wildcard ({@code *.example.com} covers {@code a.example.com} only). */
        int indexFor(String host) {
            if (host != null && !host.isEmpty()) {
                String h = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
                h = h.toLowerCase(java.util.Locale.ROOT);
                Integer i = exact.get(h);
                if (i == null) {
                    int dot = h.indexOf('.');
                    if (dot > 0) {
                        i = wildcard.get(h.substring(dot + 1));
                    }
                }
                if (i != null) {
                    return i;
                }
            }
            return defaultIndex;
        }
    }

}
