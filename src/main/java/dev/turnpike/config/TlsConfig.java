package dev.turnpike.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The {@code tls} block of a listener: the listener terminates TLS with these certificates and settings.
 * Certificate and key files were read and checked when the configuration was loaded; the TLS runtime reads
 * them again when they change.
 *
 * @param certificates       at least one; chosen per connection by the name the client asks for (SNI)
 * @param defaultCertificate index into {@code certificates} of the one served when no name matches or none is sent
 * @param engine             which TLS implementation terminates connections
 * @param protocols          enabled protocol versions, a non-empty subset of {@code TLSv1.2, TLSv1.3}
 * @param ciphers            TLS 1.2 cipher suites (IANA names) in preference order; TLS 1.3 suites are always on
 * @param ticketKeyRotation  how often a new session ticket key is made; tickets under the previous key still resume
 * @param ocspStapling       whether OCSP responses are fetched and stapled for certificates that name a responder
 * @param handshakeTimeout   time allowed from the connection to the end of the handshake
 * @param reloadInterval     how often certificate, key and CA files are checked for changes
 * @param hsts               the Strict-Transport-Security header added to responses, if any
 * @param position           where the {@code tls} block starts, for runtime messages
 */
public record TlsConfig(List<Certificate> certificates, int defaultCertificate, Engine engine, List<String> protocols,
                        List<String> ciphers, Duration ticketKeyRotation,
                        boolean ocspStapling, Duration handshakeTimeout, Duration reloadInterval,
                        Optional<Hsts> hsts, SourcePosition position) {

    public static final String TLS_1_2 = "TLSv1.2";
    public static final String TLS_1_3 = "TLSv1.3";

    public TlsConfig {
        certificates = List.copyOf(certificates);
        protocols = List.copyOf(protocols);
        ciphers = List.copyOf(ciphers);
        if (certificates.isEmpty()) {
            throw new IllegalArgumentException("a tls block needs at least one certificate");
        }
        if (defaultCertificate < 0 || defaultCertificate >= certificates.size()) {
            throw new IllegalArgumentException("defaultCertificate out of range: " + defaultCertificate);
        }
    }

    /** {@code auto} picks OpenSSL (BoringSSL) when its native library loads, the JDK's engine otherwise. */
    public enum Engine { AUTO, OPENSSL, JDK }

    /**
     * One certificate chain with its key.
     *
     * @param cert        PEM file with the server certificate first, then intermediates
     * @param key         PEM file with the private key (PKCS#8, PKCS#1 RSA or SEC1 EC; encrypted with keyPassword)
     * @param keyPassword password of an encrypted key
     * @param hosts       names this certificate is served for, lower case, {@code *.example.com} for one label;
     *                    empty means the DNS names in the certificate (re-read when it is reloaded)
     * @param clientAuth  client certificate authentication for connections that select this certificate
     * @param position    where this entry starts
     */
    public record Certificate(Path cert, Path key, Optional<String> keyPassword, List<String> hosts,
                              Optional<ClientAuth> clientAuth, SourcePosition position) {
        public Certificate {
            hosts = List.copyOf(hosts);
        }

        @Override
        public String toString() {
            // Never the password.
            return "Certificate[cert=" + cert + ", key=" + key + ", hosts=" + hosts + ", clientAuth=" + clientAuth
                    + ", position=" + position + "]";
        }
    }

    /**
     * @param required      true: a handshake without a valid client certificate fails; false: a client may send
     *                      none (but a certificate it sends must be valid)
     * @param ca            PEM bundle of the certificate authorities that client certificates must chain to
     * @param subjectHeader request header that carries the verified subject to upstreams; a copy sent by the
     *                      client is always removed
     */
    public record ClientAuth(boolean required, Path ca, Optional<String> subjectHeader) {}

    /**
     * @param maxAge            how long browsers remember to use HTTPS only
     * @param includeSubdomains whether the rule covers every subdomain
     * @param preload           whether the site asks to be in browsers' built-in HSTS lists
     */
    public record Hsts(Duration maxAge, boolean includeSubdomains, boolean preload) {
        /** The value of the Strict-Transport-Security header. */
        public String headerValue() {
            StringBuilder sb = new StringBuilder("max-age=").append(maxAge.toSeconds());
            if (includeSubdomains) {
                sb.append("; includeSubDomains");
            }
            if (preload) {
                sb.append("; preload");
            }
            return sb.toString();
        }
    }
}
