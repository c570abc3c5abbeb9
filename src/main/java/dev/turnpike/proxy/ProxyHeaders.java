package dev.turnpike.proxy;

import dev.turnpike.http.Exchange;
import dev.turnpike.http.HttpServices;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.AsciiString;
import io.netty.util.NetUtil;

import java.net.InetAddress;
import java.util.Iterator;
import java.util.Map;

/**
 * The header rules of one proxy route, compiled once: which request headers are forwarded, which are set,
 * the forwarding headers (X-Forwarded-*, RFC 7239 Forwarded) and what is removed from responses.
 */
final class ProxyHeaders {
    static final AsciiString X_FORWARDED_FOR = HttpServices.X_FORWARDED_FOR;
    static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
    static final AsciiString X_FORWARDED_HOST = AsciiString.cached("x-forwarded-host");
    static final AsciiString FORWARDED = AsciiString.cached("forwarded");
    private static final AsciiString KEEP_ALIVE = AsciiString.cached("keep-alive");
    private static final AsciiString PROXY_CONNECTION = AsciiString.cached("proxy-connection");
    private static final AsciiString TRAILERS = HttpHeaderValues.TRAILERS;

    /** Request headers are validated by our own decoder and the configuration; validating again only costs. */
    private static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);

    private final AsciiString upstreamHost;
    private final boolean preserveHost;
    private final AsciiString[] setNames;
    private final AsciiString[] setValues; // null removes

    ProxyHeaders(AsciiString upstreamHost, boolean preserveHost, Map<String, String> setHeaders) {
        this.upstreamHost = upstreamHost;
        this.preserveHost = preserveHost;
        this.setNames = new AsciiString[setHeaders.size()];
        this.setValues = new AsciiString[setHeaders.size()];
        int i = 0;
        for (Map.Entry<String, String> e : setHeaders.entrySet()) {
            setNames[i] = AsciiString.cached(e.getKey().toLowerCase(java.util.Locale.ROOT));
            setValues[i] = e.getValue().isEmpty() ? null : new AsciiString(e.getValue());
            i++;
        }
    }

    /** The headers of the request sent upstream for {@code ex}. */
    HttpHeaders requestHeaders(Exchange ex) {
        HttpRequest in = ex.request();
        HttpHeaders src = in.headers();
        HttpHeaders h = HEADERS.newHeaders();
        h.set(src);
        removeHopByHop(h, src);
        h.remove(HttpHeaderNames.PROXY_AUTHORIZATION);
        // Turnpike answers 100-continue itself when the body is first read, so the upstream must not wait for it.
        h.remove(HttpHeaderNames.EXPECT);
        if (containsToken(src, HttpHeaderNames.TE, TRAILERS)) {
            h.set(HttpHeaderNames.TE, TRAILERS);
        }
        if (HttpUtil.isTransferEncodingChunked(in)) {
            h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }

        String clientHost = src.get(HttpHeaderNames.HOST);
        if (clientHost == null && !ex.host().isEmpty()) {
            clientHost = ex.host();
        }
        h.set(HttpHeaderNames.HOST, preserveHost && clientHost != null ? clientHost : upstreamHost);

        InetAddress peer = ex.remoteAddress().getAddress();
        String peerText = NetUtil.toAddressString(peer);
        boolean trusted = ex.services().isTrustedProxy(peer);
        String xff = trusted ? joined(src, X_FORWARDED_FOR) : null;
        h.set(X_FORWARDED_FOR, xff == null ? peerText : xff + ", " + peerText);
        if (!trusted || !src.contains(X_FORWARDED_PROTO)) {
            h.set(X_FORWARDED_PROTO, ex.scheme());
        }
        if (!trusted || !src.contains(X_FORWARDED_HOST)) {
            if (clientHost != null) {
                h.set(X_FORWARDED_HOST, clientHost);
            } else {
                h.remove(X_FORWARDED_HOST);
            }
        }
        String element = forwardedElement(peer, peerText, ex.scheme(), clientHost);
        String fwd = trusted ? joined(src, FORWARDED) : null;
        h.set(FORWARDED, fwd == null ? element : fwd + ", " + element);

        h.set(ex.services().requestIdHeader(), ex.requestId());
        clientCertificate(ex, h);
        for (int i = 0; i < setNames.length; i++) {
            if (setValues[i] == null) {
                h.remove(setNames[i]);
            } else {
                h.set(setNames[i], setValues[i]);
            }
        }
        return h;
    }

    /**
     * Client-certificate subject headers come only from this connection's verified certificate: a copy the client
     * sent is removed on every listener, since any of them may reach an upstream that trusts the header.
     */
    private static void clientCertificate(Exchange ex, HttpHeaders h) {
        java.util.List<AsciiString> names = ex.services().clientSubjectHeaders();
        if (names.isEmpty()) {
            return;
        }
        for (int i = 0; i < names.size(); i++) {
            h.remove(names.get(i));
        }
        dev.turnpike.http.TlsInfo tls = ex.tls();
        if (tls != null && tls.clientSubject() != null && tls.clientSubjectHeader() != null) {
            h.set(tls.clientSubjectHeader(), tls.clientSubject());
        }
    }

    /** Removes the hop-by-hop headers of a response before it goes to the client; framing is redone there. */
    static void cleanResponse(HttpHeaders h) {
        removeHopByHop(h, h);
    }

    /**
     * Removes from {@code h} the hop-by-hop fields (RFC 9110 §7.6.1) of the message whose headers are
     * {@code src}: Connection and every field it names, Keep-Alive, Proxy-Connection, TE, Transfer-Encoding and
     * Upgrade. Content-Length and Host are never removed because Connection names them.
     */
    static void removeHopByHop(HttpHeaders h, HttpHeaders src) {
        if (src.contains(HttpHeaderNames.CONNECTION)) {
            java.util.List<String> named = null;
            Iterator<? extends CharSequence> it = src.valueCharSequenceIterator(HttpHeaderNames.CONNECTION);
            while (it.hasNext()) {
                CharSequence v = it.next();
                int start = 0;
                int len = v.length();
                while (start < len) {
                    int comma = indexOf(v, ',', start);
                    int end = comma < 0 ? len : comma;
                    String token = trim(v, start, end);
                    if (!token.isEmpty() && !isProtected(token)) {
                        if (named == null) {
                            named = new java.util.ArrayList<>(4);
                        }
                        named.add(token);
                    }
                    start = end + 1;
                }
            }
            if (named != null) {
                for (String n : named) {
                    h.remove(n);
                }
            }
            h.remove(HttpHeaderNames.CONNECTION);
        }
        h.remove(KEEP_ALIVE);
        h.remove(PROXY_CONNECTION);
        h.remove(HttpHeaderNames.TE);
        h.remove(HttpHeaderNames.TRANSFER_ENCODING);
        h.remove(HttpHeaderNames.UPGRADE);
    }

    private static boolean isProtected(String token) {
        return HttpHeaderNames.CONTENT_LENGTH.contentEqualsIgnoreCase(token)
                || HttpHeaderNames.HOST.contentEqualsIgnoreCase(token)
                || HttpHeaderValues.CLOSE.contentEqualsIgnoreCase(token)
                || HttpHeaderValues.KEEP_ALIVE.contentEqualsIgnoreCase(token);
    }

    private static int indexOf(CharSequence s, char c, int from) {
        for (int i = from; i < s.length(); i++) {
            if (s.charAt(i) == c) {
                return i;
            }
        }
        return -1;
    }

    private static String trim(CharSequence s, int start, int end) {
        while (start < end && (s.charAt(start) == ' ' || s.charAt(start) == '\t')) {
            start++;
        }
        while (end > start && (s.charAt(end - 1) == ' ' || s.charAt(end - 1) == '\t')) {
            end--;
        }
        return s.subSequence(start, end).toString();
    }

    static boolean containsToken(HttpHeaders h, CharSequence name, AsciiString token) {
        Iterator<? extends CharSequence> it = h.valueCharSequenceIterator(name);
        while (it.hasNext()) {
            CharSequence v = it.next();
            int start = 0;
            while (start < v.length()) {
                int comma = indexOf(v, ',', start);
                int end = comma < 0 ? v.length() : comma;
                int semi = indexOf(v, ';', start);
                int tokenEnd = semi >= 0 && semi < end ? semi : end;
                if (token.contentEqualsIgnoreCase(trim(v, start, tokenEnd))) {
                    return true;
                }
                start = end + 1;
            }
        }
        return false;
    }

    /** All values of {@code name} as one comma-separated list, or null when absent. */
    private static String joined(HttpHeaders h, CharSequence name) {
        java.util.List<String> values = h.getAll(name); // in received order, unlike the value iterators
        return switch (values.size()) {
            case 0 -> null;
            case 1 -> values.get(0);
            default -> String.join(", ", values);
        };
    }

    /** One RFC 7239 element: {@code for=…;proto=…;host=…}, with IPv6 nodes bracketed and quoted. */
    static String forwardedElement(InetAddress peer, String peerText, String proto, String host) {
        StringBuilder sb = new StringBuilder(48).append("for=");
        if (peer instanceof java.net.Inet6Address) {
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

    private static void appendValue(StringBuilder sb, String v) {
        boolean token = true;
        for (int i = 0; i < v.length() && token; i++) {
            token = isTokenChar(v.charAt(i));
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

    private static boolean isTokenChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }
}
