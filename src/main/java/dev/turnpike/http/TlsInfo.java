package dev.turnpike.http;

import io.netty.channel.Channel;
import io.netty.util.AsciiString;
import io.netty.util.AttributeKey;

/**
 * What the TLS handshake of a connection established, and what the listener asks of its responses. Set on the
 * connection's channel when the handshake succeeds (by the {@code tls} package); null on plain connections.
 * An HTTP/2 stream channel finds it on its parent, the connection.
 *
 * @param protocol                the TLS version, e.g. {@code TLSv1.3}
 * @param cipherSuite             the negotiated suite
 * @param serverName              the name the client asked for (SNI), lower case, or null
 * @param applicationProtocol     what ALPN chose ({@code h2}, {@code http/1.1}), or null without ALPN
 * @param certificate             index of the listener's certificate entry the handshake used
 * @param clientSubject           the verified client certificate's subject (RFC 2253, non-ASCII escaped), or null
 * @param clientSubjectHeader     header that carries {@code clientSubject} to upstreams, or null
 * @param strictTransportSecurity value of the Strict-Transport-Security header for responses, or null
 */
public record TlsInfo(String protocol, String cipherSuite, String serverName, String applicationProtocol,
                      int certificate, String clientSubject, AsciiString clientSubjectHeader,
                      AsciiString strictTransportSecurity) {

    public static final AttributeKey<TlsInfo> ATTRIBUTE = AttributeKey.valueOf(TlsInfo.class, "tls");

    /** The TLS facts of {@code ch}'s connection, or null when it is not TLS (or the handshake is not done). */
    public static TlsInfo of(Channel ch) {
        for (Channel c = ch; c != null; c = c.parent()) {
            if (c.hasAttr(ATTRIBUTE)) {
                return c.attr(ATTRIBUTE).get();
            }
        }
        return null;
    }
}
