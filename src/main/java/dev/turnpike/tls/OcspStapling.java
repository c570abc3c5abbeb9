package dev.turnpike.tls;

import org.bouncycastle.asn1.ASN1IA5String;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPReq;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.SingleResp;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Fetches and checks OCSP responses for stapling. A response is stapled only when its signature verifies (by the
 * issuer, or by a responder certificate the issuer delegated OCSP signing to), it is about this certificate and it
 * is current. Everything here does network I/O and blocks: it runs on the blocking executor, never on an event loop;
 * handshakes only ever read the last good response.
 */
final class OcspStapling {
    private OcspStapling() {}

    /** Responses are small; a larger body is not an OCSP response worth reading. */
    static final int MAX_RESPONSE_BYTES = 64 * 1024;
    /** Clock difference tolerated between us and the responder. */
    static final Duration SKEW = Duration.ofMinutes(5);
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    /**
     * A checked response ready to staple.
     *
     * @param encoded    the DER-encoded OCSPResponse, as sent in the handshake
     * @param thisUpdate when the responder vouched for the status
     * @param nextUpdate when it stops vouching (null: the responder gives no end; refreshed periodically)
     * @param revoked    whether the certificate is revoked (stapled anyway: it is the truth, and clients act on it)
     */
    record Staple(byte[] encoded, Instant thisUpdate, Instant nextUpdate, boolean revoked) {
        boolean usableAt(Instant now) {
            return nextUpdate == null || now.isBefore(nextUpdate.plus(SKEW));
        }

        /** Halfway through the validity window, so a failed refresh has time to be retried before it expires. */
        Instant refreshAt(Instant now, Duration fallback) {
            if (nextUpdate == null) {
                return now.plus(fallback);
            }
            Instant half = thisUpdate.plus(Duration.between(thisUpdate, nextUpdate).dividedBy(2));
            Instant earliest = now.plus(Duration.ofMinutes(1));
            return half.isBefore(earliest) ? earliest : half;
        }
    }

    /** The http:// OCSP responder named in the certificate's Authority Information Access extension. */
    static Optional<URI> responder(X509Certificate cert) {
        byte[] ext = cert.getExtensionValue(Extension.authorityInfoAccess.getId());
        if (ext == null) {
            return Optional.empty();
        }
        try {
            X509CertificateHolder holder = new JcaX509CertificateHolder(cert);
            AuthorityInformationAccess aia = AuthorityInformationAccess.fromExtensions(holder.getExtensions());
            if (aia == null) {
                return Optional.empty();
            }
            for (AccessDescription d : aia.getAccessDescriptions()) {
                if (AccessDescription.id_ad_ocsp.equals(d.getAccessMethod())
                        && d.getAccessLocation().getTagNo() == GeneralName.uniformResourceIdentifier) {
                    String url = ASN1IA5String.getInstance(d.getAccessLocation().getName()).getString();
                    if (url.regionMatches(true, 0, "http://", 0, 7)) {
                        return Optional.of(URI.create(url));
                    }
                }
            }
        } catch (Exception e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** Asks {@code responder} about {@code leaf}; throws with a reason when no stapleable response comes back. */
    static Staple fetch(HttpClient client, URI responder, X509Certificate leaf, X509Certificate issuer)
            throws Exception {
        CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build()
                .get(CertificateID.HASH_SHA1), new JcaX509CertificateHolder(issuer), leaf.getSerialNumber());
        // No nonce: responders pre-sign responses, and a response without one is what every client expects.
        OCSPReq request = new OCSPReqBuilder().addRequest(id).build();
        HttpRequest http = HttpRequest.newBuilder(responder)
                .timeout(TIMEOUT)
                .header("Content-Type", "application/ocsp-request")
                .header("Accept", "application/ocsp-response")
                .POST(HttpRequest.BodyPublishers.ofByteArray(request.getEncoded()))
                .build();
        HttpResponse<InputStream> response = client.send(http, HttpResponse.BodyHandlers.ofInputStream());
        byte[] body;
        try (InputStream in = response.body()) {
            body = in.readNBytes(MAX_RESPONSE_BYTES + 1);
        }
        if (response.statusCode() != 200) {
            throw new IOException("responder answered HTTP " + response.statusCode());
        }
        if (body.length > MAX_RESPONSE_BYTES) {
            throw new IOException("response larger than " + MAX_RESPONSE_BYTES + " bytes");
        }
        return check(body, id, issuer, Instant.now());
    }

    static Staple check(byte[] body, CertificateID id, X509Certificate issuer, Instant now) throws Exception {
        OCSPResp resp = new OCSPResp(body);
        if (resp.getStatus() != OCSPResp.SUCCESSFUL) {
            throw new IOException("responder status " + resp.getStatus() + " (not successful)");
        }
        if (!(resp.getResponseObject() instanceof BasicOCSPResp basic)) {
            throw new IOException("not a basic OCSP response");
        }
        PublicKey signer = signerKey(basic, issuer);
        if (!basic.isSignatureValid(new JcaContentVerifierProviderBuilder().build(signer))) {
            throw new IOException("the response's signature does not verify");
        }
        for (SingleResp single : basic.getResponses()) {
            if (!single.getCertID().equals(id)) {
                continue;
            }
            Instant thisUpdate = single.getThisUpdate().toInstant();
            Instant nextUpdate = single.getNextUpdate() == null ? null : single.getNextUpdate().toInstant();
            if (thisUpdate.isAfter(now.plus(SKEW))) {
                throw new IOException("the response is from the future (thisUpdate " + thisUpdate + ")");
            }
            if (nextUpdate != null && !now.isBefore(nextUpdate.plus(SKEW))) {
                throw new IOException("the response expired at " + nextUpdate);
            }
            CertificateStatus status = single.getCertStatus();
            if (status != CertificateStatus.GOOD && !(status instanceof RevokedStatus)) {
                throw new IOException("the responder does not know the certificate");
            }
            return new Staple(resp.getEncoded(), thisUpdate, nextUpdate, status instanceof RevokedStatus);
        }
        throw new IOException("the response is about another certificate");
    }

    /**
     * The issuer signs its responses itself, or delegates to a responder certificate it issued with the OCSP
     * signing purpose (RFC 6960 section 4.2.2.2), which then comes with the response.
     */
    private static PublicKey signerKey(BasicOCSPResp basic, X509Certificate issuer) throws Exception {
        byte[] issuerKey = issuer.getPublicKey().getEncoded();
        for (X509CertificateHolder delegate : basic.getCerts()) {
            if (java.util.Arrays.equals(delegate.getSubjectPublicKeyInfo().getEncoded(), issuerKey)) {
                continue; // the issuer itself
            }
            ExtendedKeyUsage eku = ExtendedKeyUsage.fromExtensions(delegate.getExtensions());
            if (delegate.isSignatureValid(new JcaContentVerifierProviderBuilder().build(issuer.getPublicKey()))
                    && eku != null && eku.hasKeyPurposeId(KeyPurposeId.id_kp_OCSPSigning)
                    && delegate.isValidOn(new java.util.Date())) {
                return new JcaX509CertificateConverter().getCertificate(delegate).getPublicKey();
            }
        }
        return issuer.getPublicKey();
    }
}
