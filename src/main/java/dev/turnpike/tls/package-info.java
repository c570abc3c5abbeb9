/**
 * TLS termination on listeners: PEM certificates and keys ({@link dev.turnpike.tls.CertificateFiles}), the choice
 * of certificate by SNI, ALPN and the hand-off to HTTP/1.1 or HTTP/2 ({@link dev.turnpike.tls.ProtocolSelector},
 * {@link dev.turnpike.tls.Http2Hook}), client certificate authentication, session ticket key rotation, OCSP
 * stapling and reloading certificates whose files change ({@link dev.turnpike.tls.TlsListener}), and the HTTPS
 * conveniences of plain listeners ({@link dev.turnpike.tls.HttpsRedirect}). The engine is BoringSSL
 * (netty-tcnative) when it loads, the JDK's otherwise. Everything that touches files or the network runs on the
 * blocking executor; event loops only read the current certificates.
 */
package dev.turnpike.tls;
