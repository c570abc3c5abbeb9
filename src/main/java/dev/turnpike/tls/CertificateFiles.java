package dev.turnpike.tls;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMDecryptorProviderBuilder;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads PEM certificate chains, CA bundles and private keys, and checks that they belong together. Used by the
 * configuration loader (so a bad file is reported at its line and column before anything listens) and by the
 * TLS runtime when files change. Every failure is a {@link Problem} whose message is meant for the person who
 * configured the file. All of it reads files: never call it on an event loop.
 */
public final class CertificateFiles {
    private CertificateFiles() {}

    /**
     * Decrypts encrypted keys: the JDK's own providers lack the PBKDF and padding names that encrypted PEM keys
     * use. Used for that only, never registered process-wide.
     */
    private static final java.security.Provider BC = new org.bouncycastle.jce.provider.BouncyCastleProvider();

    /** Certificate files are small; a larger file is almost certainly the wrong one. */
    static final long MAX_FILE_BYTES = 1024 * 1024;

    /** Which configured file a {@link Problem} is about. */
    public enum Which { CERT, KEY, CA }

    /** A certificate, key or CA file that cannot be used, and why. */
    public static final class Problem extends Exception {
        private final Which which;

        Problem(Which which, String message) {
            super(message, null, false, false);
            this.which = which;
        }

        Problem(Which which, String message, Throwable cause) {
            super(message, cause, false, false);
            this.which = which;
        }

        public Which which() {
            return which;
        }
    }

    /** A server certificate chain (leaf first) and its private key, both checked. */
    public record KeyAndChain(List<X509Certificate> chain, PrivateKey key) {
        public KeyAndChain {
            chain = List.copyOf(chain);
        }

        public X509Certificate leaf() {
            return chain.getFirst();
        }
    }

    /** Reads and checks a certificate chain and its key; {@code password} (or null) decrypts an encrypted key. */
    public static KeyAndChain load(Path cert, Path key, String password) throws Problem {
        List<X509Certificate> chain = readCertificates(cert, Which.CERT);
        PrivateKey privateKey = readKey(key, password);
        checkKeyMatches(chain, privateKey);
        return new KeyAndChain(chain, privateKey);
    }

    /** Reads a PEM bundle of CA certificates (for client certificate authentication). */
    public static List<X509Certificate> readCaBundle(Path file) throws Problem {
        return readCertificates(file, Which.CA);
    }

    static List<X509Certificate> readCertificates(Path file, Which which) throws Problem {
        String text = readPem(file, which);
        List<X509Certificate> out = new ArrayList<>();
        boolean sawKey = false;
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (o instanceof X509CertificateHolder holder) {
                    out.add(converter.getCertificate(holder));
                } else if (isKey(o)) {
                    sawKey = true;
                }
            }
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            throw new Problem(which, "bad PEM in " + file + ": " + reason(e), e);
        }
        if (out.isEmpty()) {
            throw new Problem(which, sawKey
                    ? file + " holds a private key, not certificates; are 'cert' and 'key' swapped?"
                    : "no certificate in " + file + "; expected PEM text with -----BEGIN CERTIFICATE-----");
        }
        return out;
    }

    static PrivateKey readKey(Path file, String password) throws Problem {
        String text = readPem(file, Which.KEY);
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        boolean sawCertificate = false;
        PrivateKey key = null;
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
            Object o;
            while ((o = parser.readObject()) != null) {
                PrivateKey k = switch (o) {
                    // Only the private half: SEC1 EC keys may leave the public key out.
                    case PEMKeyPair kp -> converter.getPrivateKey(kp.getPrivateKeyInfo());
                    case PrivateKeyInfo info -> converter.getPrivateKey(info);
                    case PEMEncryptedKeyPair enc -> {
                        requirePassword(file, password);
                        yield converter.getPrivateKey(enc.decryptKeyPair(
                                new JcePEMDecryptorProviderBuilder().setProvider(BC).build(password.toCharArray())).getPrivateKeyInfo());
                    }
                    case PKCS8EncryptedPrivateKeyInfo enc -> {
                        requirePassword(file, password);
                        yield converter.getPrivateKey(enc.decryptPrivateKeyInfo(
                                new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(BC).build(password.toCharArray())));
                    }
                    default -> {
                        sawCertificate |= o instanceof X509CertificateHolder;
                        // EC PARAMETERS blocks (openssl ecparam -genkey) precede the key and say nothing new.
                        if (!(o instanceof ASN1ObjectIdentifier) && !(o instanceof X9ECParameters)
                                && !(o instanceof X509CertificateHolder)) {
                            throw new Problem(Which.KEY, "unexpected " + o.getClass().getSimpleName() + " in " + file
                                    + "; expected a private key");
                        }
                        yield null;
                    }
                };
                if (k != null) {
                    if (key != null) {
                        throw new Problem(Which.KEY, file + " holds more than one private key; keep only the one"
                                + " that belongs to the certificate");
                    }
                    key = k;
                }
            }
        } catch (Problem p) {
            throw p;
        } catch (IOException | RuntimeException | org.bouncycastle.operator.OperatorCreationException
                 | org.bouncycastle.pkcs.PKCSException e) {
            String reason = reason(e);
            if (password != null && (reason.contains("decrypt") || reason.contains("pad") || reason.contains("MAC"))) {
                throw new Problem(Which.KEY, "cannot decrypt the key in " + file + ": is key_password right?", e);
            }
            throw new Problem(Which.KEY, "bad PEM in " + file + ": " + reason, e);
        }
        if (key == null) {
            throw new Problem(Which.KEY, sawCertificate
                    ? file + " holds certificates, not a private key; are 'cert' and 'key' swapped?"
                    : "no private key in " + file + "; expected PEM text with -----BEGIN PRIVATE KEY-----"
                    + " (PKCS#8), -----BEGIN RSA PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY-----");
        }
        if (!(key instanceof RSAKey) && !(key instanceof ECKey)) {
            throw new Problem(Which.KEY, "the key in " + file + " is " + key.getAlgorithm()
                    + "; only RSA and ECDSA keys are supported");
        }
        return key;
    }

    private static void requirePassword(Path file, String password) throws Problem {
        if (password == null) {
            throw new Problem(Which.KEY, "the key in " + file + " is encrypted; set key_password");
        }
    }

    private static boolean isKey(Object o) {
        return o instanceof PEMKeyPair || o instanceof PrivateKeyInfo || o instanceof PEMEncryptedKeyPair
                || o instanceof PKCS8EncryptedPrivateKeyInfo;
    }

    /**
     * The key must belong to the first certificate: a test signature made with it must verify with that
     * certificate's public key. When it belongs to a later one, the chain is merely in the wrong order.
     */
    static void checkKeyMatches(List<X509Certificate> chain, PrivateKey key) throws Problem {
        if (matches(chain.getFirst().getPublicKey(), key)) {
            return;
        }
        for (int i = 1; i < chain.size(); i++) {
            if (matches(chain.get(i).getPublicKey(), key)) {
                throw new Problem(Which.CERT, "the key belongs to certificate " + (i + 1) + " of the chain ("
                        + subject(chain.get(i)) + "); put the server certificate first, then its intermediates");
            }
        }
        throw new Problem(Which.KEY, "the key does not match the certificate (" + subject(chain.getFirst())
                + "); was it made for another certificate?");
    }

    private static boolean matches(PublicKey publicKey, PrivateKey key) {
        String algorithm = key instanceof RSAKey ? "SHA256withRSA" : "SHA256withECDSA";
        if (!publicKey.getAlgorithm().equals(key.getAlgorithm())
                && !(publicKey.getAlgorithm().equals("EC") && key.getAlgorithm().equals("ECDSA"))) {
            return false;
        }
        try {
            byte[] probe = "turnpike key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The DNS names a certificate is valid for, lower case: its subjectAltName DNS entries, or its subject's
     * common name when it has none (old certificates).
     */
    public static List<String> dnsNames(X509Certificate cert) {
        Set<String> names = new LinkedHashSet<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (san.size() >= 2 && Integer.valueOf(2).equals(san.get(0)) && san.get(1) instanceof String s) {
                        names.add(normalize(s));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // Treated as having no alternative names.
        }
        if (names.isEmpty()) {
            X500Name subject = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
            for (RDN rdn : subject.getRDNs(BCStyle.CN)) {
                String cn = IETFUtils.valueToString(rdn.getFirst().getValue());
                if (cn.indexOf('.') > 0 && cn.indexOf(' ') < 0) {
                    names.add(normalize(cn));
                }
            }
        }
        return List.copyOf(names);
    }

    static String normalize(String host) {
        String h = host.strip().toLowerCase(Locale.ROOT);
        return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
    }

    /** The subject of a certificate in RFC 2253 form, for messages. */
    static String subject(X509Certificate cert) {
        return cert.getSubjectX500Principal().getName();
    }

    private static String readPem(Path file, Which which) throws Problem {
        byte[] bytes;
        try {
            if (Files.isDirectory(file)) {
                throw new Problem(which, file + " is a directory; expected a PEM file");
            }
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw new Problem(which, file + " is larger than 1 MiB; expected a PEM file");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new Problem(which, "no such file: " + file);
        } catch (AccessDeniedException e) {
            throw new Problem(which, "cannot read " + file + ": permission denied");
        } catch (IOException e) {
            throw new Problem(which, "cannot read " + file + ": " + e.getMessage());
        }
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        if (!text.contains("-----BEGIN ")) {
            throw new Problem(which, bytes.length > 0 && bytes[0] == 0x30
                    ? file + " is binary DER, not PEM; convert it, e.g. openssl x509 -inform der -in " + file.getFileName()
                    + " -out " + file.getFileName() + ".pem"
                    : bytes.length == 0 ? file + " is empty; expected PEM text"
                    : "bad PEM in " + file + ": no -----BEGIN line");
        }
        return text;
    }

    private static String reason(Throwable e) {
        Throwable t = e;
        String m = null;
        while (t != null) {
            if (t.getMessage() != null) {
                m = t.getMessage();
            }
            t = t.getCause();
        }
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
