package dev.turnpike.tls;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Certificates made for a test: a CA, server and client certificates, written as PEM files. */
public final class TestPki {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    public enum KeyType { RSA, EC }

    /** A certificate with its key, and the chain up to (not including) the root. */
    public record Issued(X509Certificate cert, PrivateKey key, List<X509Certificate> chain) {
        BigInteger serial() {
            return cert.getSerialNumber();
        }

        /** Writes {@code <name>.pem} (the chain, leaf first) and {@code <name>.key}; returns the cert path. */
        public Path write(Path dir, String name, KeyFormat format) throws Exception {
            Path cert = dir.resolve(name + ".pem");
            Path key = dir.resolve(name + ".key");
            atomicWrite(cert, pem(chain.toArray()));
            atomicWrite(key, keyPem(key(), format));
            return cert;
        }
    }

    public enum KeyFormat { PKCS8, TRADITIONAL }

    final KeyPair caKeys;
    public final X509Certificate ca;

    public TestPki(KeyType type) throws Exception {
        this(type, "Turnpike Test CA");
    }

    TestPki(KeyType type, String name) throws Exception {
        caKeys = keys(type);
        X500Name subject = new X500Name("CN=" + name);
        X509v3CertificateBuilder b = builder(subject, subject, caKeys, Duration.ofDays(30));
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        b.addExtension(Extension.subjectKeyIdentifier, false,
                new JcaX509ExtensionUtils().createSubjectKeyIdentifier(caKeys.getPublic()));
        ca = sign(b, caKeys.getPrivate());
    }

    static KeyPair keys(KeyType type) throws Exception {
        if (type == KeyType.RSA) {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048, RANDOM);
            return g.generateKeyPair();
        }
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    /** A server certificate for {@code names} (DNS SANs); CN is the first name. */
    public Issued server(KeyType type, String... names) throws Exception {
        return serverWithOcsp(type, null, names);
    }

    /** As {@link #server(KeyType, String...)}, naming {@code ocspUrl} as its OCSP responder when not null. */
    Issued serverWithOcsp(KeyType type, String ocspUrl, String... names) throws Exception {
        KeyPair kp = keys(type);
        X509v3CertificateBuilder b = builder(new X500Name("CN=" + names[0]),
                new X500Name(ca.getSubjectX500Principal().getName()), kp, Duration.ofDays(7));
        GeneralName[] sans = new GeneralName[names.length];
        for (int i = 0; i < names.length; i++) {
            sans[i] = new GeneralName(GeneralName.dNSName, names[i]);
        }
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
        b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
        b.addExtension(Extension.authorityKeyIdentifier, false,
                new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(ca));
        if (ocspUrl != null) {
            b.addExtension(Extension.authorityInfoAccess, false, new AuthorityInformationAccess(
                    new AccessDescription(AccessDescription.id_ad_ocsp,
                            new GeneralName(GeneralName.uniformResourceIdentifier, ocspUrl))));
        }
        X509Certificate cert = sign(b, caKeys.getPrivate());
        return new Issued(cert, kp.getPrivate(), List.of(cert, ca));
    }

    /** A client certificate with subject {@code subject}, e.g. "CN=alice,O=Example". */
    public Issued client(String subject) throws Exception {
        KeyPair kp = keys(KeyType.EC);
        X509v3CertificateBuilder b = builder(new X500Name(subject),
                new X500Name(ca.getSubjectX500Principal().getName()), kp, Duration.ofDays(7));
        b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
        X509Certificate cert = sign(b, caKeys.getPrivate());
        return new Issued(cert, kp.getPrivate(), List.of(cert));
    }

    public void writeCa(Path file) throws Exception {
        atomicWrite(file, pem(ca));
    }

    /** A key store holding {@code issued} for a JDK client's key manager. */
    public static KeyStore keyStore(Issued issued) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("client", issued.key(), "changeit".toCharArray(),
                issued.chain().toArray(new X509Certificate[0]));
        return ks;
    }

    private static X509v3CertificateBuilder builder(X500Name subject, X500Name issuer, KeyPair kp, Duration life) {
        Instant now = Instant.now();
        return new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.incrementAndGet()),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(life)), subject, kp.getPublic());
    }

    private X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer) throws Exception {
        String alg = signer.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(alg).build(signer)));
    }

    static String pem(Object... objects) throws IOException {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            for (Object o : objects) {
                w.writeObject(o);
            }
        }
        return sw.toString();
    }

    static String keyPem(PrivateKey key, KeyFormat format) throws Exception {
        if (format == KeyFormat.TRADITIONAL && key instanceof java.security.interfaces.ECPrivateKey ec) {
            // SEC1 as openssl writes it: the curve inside the key structure.
            var info = org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(key.getEncoded());
            var params = info.getPrivateKeyAlgorithm().getParameters();
            var sec1 = new org.bouncycastle.asn1.sec.ECPrivateKey(ec.getParams().getOrder().bitLength(), ec.getS(),
                    null, params);
            StringWriter sw = new StringWriter();
            try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
                w.writeObject(new PemObject("EC PRIVATE KEY", sec1.getEncoded()));
            }
            return sw.toString();
        }
        if (format == KeyFormat.TRADITIONAL) {
            return pem(key); // -----BEGIN RSA PRIVATE KEY-----
        }
        PemObject pkcs8 = new JcaPKCS8Generator(key, null).generate();
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            w.writeObject(pkcs8);
        }
        return sw.toString();
    }

    /** Replaces a file the way deploy tools do: write aside, then rename over it. */
    static void atomicWrite(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
