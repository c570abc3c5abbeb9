package dev.turnpike.http;

import io.netty.util.NetUtil;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The client at the other end of one connection, and what every proxied request on it says about that client:
 * its address as text (X-Forwarded-For) and its RFC 7239 {@code Forwarded} element. A keep-alive connection
 * carries many requests with the same scheme and host, so these are formatted once, not per request. Used only
 * on the connection's event loop.
 */
public final class ClientPeer {
    private final InetSocketAddress address;
    private String addressText;
    private String forwardedScheme;
    private String forwardedHost;
    private String forwarded;

    public ClientPeer(InetSocketAddress address) {
        this.address = address;
    }

    public InetSocketAddress address() {
        return address;
    }

    /** The peer's address as X-Forwarded-For writes it: IPv4 dotted, IPv6 in RFC 5952 form, without brackets. */
    public String addressText() {
        String text = addressText;
        if (text == null) {
            text = addressText = NetUtil.toAddressString(address.getAddress());
        }
        return text;
    }

    /** This peer's {@code Forwarded} element for a request with {@code scheme} and {@code host} (null: none). */
    public String forwardedElement(String scheme, String host) {
        String element = forwarded;
        if (element == null || !scheme.equals(forwardedScheme) || !java.util.Objects.equals(host, forwardedHost)) {
            element = forwarded = forwardedElement(address.getAddress(), addressText(), scheme, host);
            forwardedScheme = scheme;
            forwardedHost = host;
        }
        return element;
    }

    /** One RFC 7239 element: {@code for=…;proto=…;host=…}, with IPv6 nodes bracketed and quoted. */
    public static String forwardedElement(InetAddress peer, String peerText, String proto, String host) {
        StringBuilder sb = new StringBuilder(48).append("for=");
        if (peer instanceof Inet6Address) {
            sb.append("\"[").append(peerText).append("]\"");
        } else {
            sb.append(peerText);
        }
        sb.append(";proto=").append(proto);
        if (host != null && !host.isEmpty()) {
            sb.append(";host=");
            appendValue(sb, host);
        }
        return sb.toString();
    }

    /** A token as it is, anything else as an RFC 9110 quoted-string. */
    private static void appendValue(StringBuilder sb, String v) {
        boolean token = true;
        for (int i = 0; i < v.length() && token; i++) {
            token = HttpTokens.isTchar(v.charAt(i));
        }
        if (token) {
            sb.append(v);
            return;
        }
        sb.append('"');
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\');
            }
            sb.append(c);
        }
        sb.append('"');
    }
}
