package dev.turnpike.upstream;

import dev.turnpike.config.ClusterConfig;
import dev.turnpike.tls.CertificateFiles;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;

import javax.net.ssl.SSLException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * TLS to a cluster's endpoints: one client {@link SslContext} built from the cluster's {@code tls} block (or the
 * defaults that https:// endpoints and protocol h2 imply), and the {@link SslHandler} each new connection starts its
 * pipeline with. Certificates are checked against the configured CA bundle, else the JVM's trusted CAs, and must be
 * valid for the server name (SNI, and what hostname verification checks): the configured {@code server_name}, else the
 * endpoint's host. {@code verify: false} turns every check off, as a deliberate choice of the configuration.
 *
 * <p>ALPN offers {@code h2} for an HTTP/2 cluster (a connection that does not get it fails: the endpoint would not
 * speak HTTP/2) and {@code http/1.1} otherwise. The engine is BoringSSL when it loads, the JDK's otherwise, as on the
 * listeners. Immutable and thread-safe: shared by every event loop's pools and by the active checks.
 */
public final class UpstreamTls {
    private final SslContext context;
    private final String serverName;
    private final boolean http2;
    private final boolean verify;
    private final long handshakeTimeoutMillis;

    private UpstreamTls(SslContext context, String serverName, boolean http2, boolean verify,
                        long handshakeTimeoutMillis) {
        this.context = context;
        this.serverName = serverName;
        this.http2 = http2;
        this.verify = verify;
        this.handshakeTimeoutMillis = handshakeTimeoutMillis;
    }

    /**
     * Builds the client context of {@code config} (reads its PEM files: call off the event loops).
     *
     * @param handshakeTimeout how long a handshake may take (the cluster's connect timeout)
     * @throws IllegalArgumentException when a file cannot be read or the context cannot be built
     */
    public static UpstreamTls of(ClusterConfig.Tls config, UpstreamProtocol protocol, Duration handshakeTimeout) {
        Objects.requireNonNull(config, "config");
        boolean http2 = protocol.isHttp2();
        try {
            SslContextBuilder b = SslContextBuilder.forClient()
                    .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK)
                    .protocols("TLSv1.3", "TLSv1.2")
                    .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                            http2 ? ApplicationProtocolNames.HTTP_2 : ApplicationProtocolNames.HTTP_1_1));
            if (!config.verify()) {
                b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
            } else {
                b.endpointIdentificationAlgorithm("HTTPS");
                if (config.ca().isPresent()) {
                    List<X509Certificate> cas = CertificateFiles.readCaBundle(config.ca().get());
                    b.trustManager(cas);
                }
            }
            if (config.clientCertificate().isPresent() && config.clientKey().isPresent()) {
                CertificateFiles.KeyAndChain client = CertificateFiles.load(config.clientCertificate().get(),
                        config.clientKey().get(), config.clientKeyPassword().orElse(null));
                b.keyManager(client.key(), client.chain());
            }
            return new UpstreamTls(b.build(), config.serverName().orElse(null), http2, config.verify(),
                    Math.max(1, handshakeTimeout.toMillis()));
        } catch (CertificateFiles.Problem | SSLException e) {
            throw new IllegalArgumentException("TLS to the upstream: " + e.getMessage(), e);
        }
    }

    /** Whether ALPN must select HTTP/2. */
    public boolean http2() {
        return http2;
    }

    /** Whether the endpoints' certificates are checked ({@code verify: false} turns it off). */
    public boolean verifies() {
        return verify;
    }

    /**
     * A handler for a new connection to {@code endpoint} (the name it is checked against: {@code server_name}, else
     * the endpoint's host; {@code fallbackHost} for an endpoint that has none, a Unix socket).
     */
    public SslHandler newHandler(ByteBufAllocator alloc, Endpoint endpoint, boolean direct) {
        String host = serverName != null ? serverName : direct ? ConnectionPools.Direct.HOST_HEADER : endpoint.host();
        SslHandler h = context.newHandler(alloc, host, endpoint.port());
        h.setHandshakeTimeoutMillis(handshakeTimeoutMillis);
        return h;
    }

    /**
     * Checks the protocol ALPN selected on {@code ch} once its handshake is done: null when it suits, else why not.
     */
    public String alpnProblem(Channel ch) {
        if (!http2) {
            return null;
        }
        SslHandler ssl = ch.pipeline().get(SslHandler.class);
        String selected = ssl == null ? null : ssl.applicationProtocol();
        return ApplicationProtocolNames.HTTP_2.equals(selected) ? null
                : "the upstream did not agree to HTTP/2 over TLS (ALPN selected " + (selected == null ? "nothing"
                : selected) + ")";
    }

    @Override
    public String toString() {
        return "UpstreamTls{" + (http2 ? "h2" : "http/1.1") + (serverName != null ? ", server_name=" + serverName : "")
                + (verify ? "" : ", NOT VERIFIED") + "}";
    }
}
