package dev.turnpike.proxy;

import dev.turnpike.http.ClientPeer;
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
        for (Map.Entry<String, String> e : setHeaders.entrySet()) { // names are unique (checked by the config)
            setNames[i] = AsciiString.cached(e.getKey().toLowerCase(java.util.Locale.ROOT));
            setValues[i] = e.getValue().isEmpty() ? null : new AsciiString(e.getValue());
            i++;
        }
    }

    // What a field name is to the proxy; OTHER fields pass as they are.
    private static final int OTHER = 0;
    private static final int CONNECTION = 1;
    private static final int KEEP_ALIVE_FIELD = 2;
    private static final int PROXY_CONNECTION_FIELD = 3;
    private static final int TE = 4;
    private static final int TRANSFER_ENCODING = 5;
    private static final int UPGRADE = 6;
    private static final int PROXY_AUTHORIZATION = 7;
    private static final int EXPECT = 8;
    private static final int HOST = 9;
    private static final int XFF = 10;
    private static final int XFP = 11;
    private static final int XFH = 12;
    private static final int FORWARDED_FIELD = 13;
    private static final AsciiString[] NAMES = {null, HttpHeaderNames.CONNECTION, KEEP_ALIVE, PROXY_CONNECTION,
        HttpHeaderNames.TE, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE,
        HttpHeaderNames.PROXY_AUTHORIZATION, HttpHeaderNames.EXPECT, HttpHeaderNames.HOST, X_FORWARDED_FOR,
        X_FORWARDED_PROTO, X_FORWARDED_HOST, FORWARDED};

    /** The kind of {@code name}, by its length first: one or two comparisons for any field. */
    private static int kindOf(CharSequence name) {
        return switch (name.length()) {
            case 2 -> is(name, TE);
            case 4 -> is(name, HOST);
            case 6 -> is(name, EXPECT);
            case 7 -> is(name, UPGRADE);
            case 9 -> is(name, FORWARDED_FIELD);
            case 10 -> is(name, CONNECTION) | is(name, KEEP_ALIVE_FIELD);
            case 15 -> is(name, XFF);
            case 16 -> is(name, PROXY_CONNECTION_FIELD) | is(name, XFH);
            case 17 -> is(name, TRANSFER_ENCODING) | is(name, XFP);
            case 19 -> is(name, PROXY_AUTHORIZATION);
            default -> OTHER;
        };
    }

    private static int is(CharSequence name, int kind) {
        return AsciiString.contentEqualsIgnoreCase(name, NAMES[kind]) ? kind : OTHER;
    }

    /**
     * The headers of the request sent upstream for {@code ex}: the client's fields in their order, less the
     * hop-by-hop ones, credentials for a proxy and the fields Turnpike writes itself, which follow them. One pass
     * over the client's fields.
     */
    HttpHeaders requestHeaders(Exchange ex) {
        HttpRequest in = ex.request();
        HttpHeaders src = in.headers();
        ClientPeer peer = ex.peer();
        boolean trusted = ex.services().isTrustedProxy(peer.address().getAddress());
        java.util.List<String> named = src.contains(HttpHeaderNames.CONNECTION) ? connectionTokens(src) : null;

        HttpHeaders h = HEADERS.newHeaders();
        String clientHost = null;
        String xff = null;           // what a trusted proxy forwarded, all fields joined
        String fwd = null;
        boolean trailers = false;    // the client accepts trailers (TE: trailers), which gRPC needs end to end
        boolean framed = false;      // Transfer-Encoding is redone for the upstream
        boolean protoKept = false;   // a trusted proxy's X-Forwarded-Proto stays
        boolean hostKept = false;
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = src.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            CharSequence name = e.getKey();
            switch (kindOf(name)) {
                case HOST -> {
                    if (clientHost == null) {
                        clientHost = e.getValue().toString();
                    }
                    continue;
                }
                case XFF -> {
                    if (trusted) {
                        xff = xff == null ? e.getValue().toString() : xff + ", " + e.getValue();
                    }
                    continue;
                }
                case FORWARDED_FIELD -> {
                    if (trusted) {
                        fwd = fwd == null ? e.getValue().toString() : fwd + ", " + e.getValue();
                    }
                    continue;
                }
                case TE -> {
                    trailers |= hasToken(e.getValue(), TRAILERS);
                    continue;
                }
                case TRANSFER_ENCODING -> {
                    framed = true;
                    continue;
                }
                // Hop-by-hop fields and credentials for a proxy stop here. So does Expect: Turnpike answers
                // 100-continue itself when the body is first read, and the upstream must not wait for it.
                case CONNECTION, KEEP_ALIVE_FIELD, PROXY_CONNECTION_FIELD, UPGRADE, PROXY_AUTHORIZATION, EXPECT -> {
                    continue;
                }
                case XFP -> {
                    if (!trusted) {
                        continue;
                    }
                    protoKept = true;
                }
                case XFH -> {
                    if (!trusted) {
                        continue;
                    }
                    hostKept = true;
                }
                default -> { }
            }
            if (named != null && isNamed(named, name)) {
                continue;
            }
            h.add(name, e.getValue());
        }

        if (trailers) {
            h.add(HttpHeaderNames.TE, TRAILERS);
        }
        if (framed && HttpUtil.isTransferEncodingChunked(in)) {
            h.add(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        if (clientHost == null && !ex.host().isEmpty()) {
            clientHost = ex.host();
        }
        h.add(HttpHeaderNames.HOST, preserveHost && clientHost != null ? clientHost : upstreamHost);
        String peerText = peer.addressText();
        h.add(X_FORWARDED_FOR, xff == null ? peerText : xff + ", " + peerText);
        if (!protoKept) {
            h.add(X_FORWARDED_PROTO, ex.scheme());
        }
        if (!hostKept && clientHost != null) {
            h.add(X_FORWARDED_HOST, clientHost);
        }
        String element = peer.forwardedElement(ex.scheme(), clientHost);
        h.add(FORWARDED, fwd == null ? element : fwd + ", " + element);

        // Configurable names may be any of the above: each replaces what came before it.
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

    private static boolean isNamed(java.util.List<String> named, CharSequence name) {
        for (int i = 0; i < named.size(); i++) {
            if (AsciiString.contentEqualsIgnoreCase(name, named.get(i))) {
                return true;
            }
        }
        return false;
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

    /**
     * Removes the hop-by-hop fields (RFC 9110 section 7.6.1) of a response before it goes to the client, where
     * framing is redone: Connection and every field it names, Keep-Alive, Proxy-Connection, TE, Transfer-Encoding
     * and Upgrade. A lookup per name costs less here than a pass over all fields.
     */
    static void cleanResponse(HttpHeaders h) {
        if (h.contains(HttpHeaderNames.CONNECTION)) {
            java.util.List<String> named = connectionTokens(h);
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

    /**
     * The fields that the Connection fields of {@code src} name (RFC 9110 section 7.6.1), or null when none:
     * Content-Length and Host are never among them, nor the connection options close and keep-alive.
     */
    private static java.util.List<String> connectionTokens(HttpHeaders src) {
        java.util.List<String> named = null;
        Iterator<? extends CharSequence> it = src.valueCharSequenceIterator(HttpHeaderNames.CONNECTION);
        while (it.hasNext()) {
            CharSequence v = it.next();
            if (isConnectionOption(v)) {
                continue; // the usual value, a lone close or keep-alive, names no field
            }
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
        return named;
    }

    private static boolean isConnectionOption(CharSequence v) {
        return HttpHeaderValues.KEEP_ALIVE.contentEqualsIgnoreCase(v) || HttpHeaderValues.CLOSE.contentEqualsIgnoreCase(v);
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

    /** Whether the list {@code v} holds {@code token} (parameters after ';' ignored). */
    private static boolean hasToken(CharSequence v, AsciiString token) {
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
        return false;
    }
}
