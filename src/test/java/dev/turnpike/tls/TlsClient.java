package dev.turnpike.tls;

import dev.turnpike.testing.RawClient;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;

/** A JDK TLS client for tests: chooses SNI, ALPN, protocols and a client certificate, and trusts one CA. */
final class TlsClient {
    private final int port;
    private String serverName;
    private X509Certificate trusted;
    private String[] alpn;
    private String[] protocols = {"TLSv1.3", "TLSv1.2"};
    private String[] ciphers;
    private TestPki.Issued clientCert;

    private TlsClient(int port) {
        this.port = port;
    }

    static TlsClient to(int port) {
        return new TlsClient(port);
    }

    TlsClient sni(String name) {
        this.serverName = name;
        return this;
    }

    TlsClient trust(X509Certificate ca) {
        this.trusted = ca;
        return this;
    }

    TlsClient alpn(String... protocols) {
        this.alpn = protocols;
        return this;
    }

    TlsClient protocols(String... p) {
        this.protocols = p;
        return this;
    }

    TlsClient ciphers(String... c) {
        this.ciphers = c;
        return this;
    }

    TlsClient clientCert(TestPki.Issued issued) {
        this.clientCert = issued;
        return this;
    }

    /** Connects and completes the handshake (throws when it fails). */
    SSLSocket handshake() throws Exception {
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        ts.setCertificateEntry("ca", trusted);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        KeyManager[] keyManagers = null;
        if (clientCert != null) {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(TestPki.keyStore(clientCert), "changeit".toCharArray());
            keyManagers = new KeyManager[] {new AlwaysSend((X509ExtendedKeyManager) kmf.getKeyManagers()[0])};
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(keyManagers, tmf.getTrustManagers(), null);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        s.setSoTimeout(10_000);
        SSLParameters params = s.getSSLParameters();
        params.setProtocols(protocols);
        if (ciphers != null) {
            params.setCipherSuites(ciphers);
        }
        params.setServerNames(serverName == null ? List.of() : List.of(new SNIHostName(serverName)));
        if (alpn != null) {
            params.setApplicationProtocols(alpn);
        }
        s.setSSLParameters(params);
        try {
            s.startHandshake();
        } catch (Exception e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * Sends the client certificate whatever CAs the server names: the JDK's own key manager would quietly send
     * none to a server that does not list the certificate's issuer, and a test of rejection would test nothing.
     */
    private static final class AlwaysSend extends X509ExtendedKeyManager {
        private final X509ExtendedKeyManager delegate;

        AlwaysSend(X509ExtendedKeyManager delegate) {
            this.delegate = delegate;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return "client";
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return "client";
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[] {"client"};
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return delegate.getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return delegate.getPrivateKey(alias);
        }
    }

    /** The certificate the server presented. */
    static X509Certificate peer(SSLSocket s) throws Exception {
        return (X509Certificate) s.getSession().getPeerCertificates()[0];
    }

    /** Handshakes, sends GET {@code path} for {@code host}, returns the response. */
    RawClient.Response get(String host, String path) throws Exception {
        try (SSLSocket s = handshake(); RawClient c = RawClient.over(s)) {
            return c.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n").read();
        }
    }
}
