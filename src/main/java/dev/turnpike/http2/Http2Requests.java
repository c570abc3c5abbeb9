package dev.turnpike.http2;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;

import java.util.Map;

/**
 * HTTP/2 request heads as the rest of Turnpike sees them. Netty's decoder has already checked what it checks
 * (see {@link ServerCodecBuilder}); {@link #malformed} adds the rules of RFC 9113 section 8.3 it leaves to the
 * application, and {@link #toHttpRequest} makes the HTTP/1.1-shaped request that handlers and the proxy use.
 */
final class Http2Requests {
    private static final CharSequence STREAM_ID = HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text();
    private static final CharSequence SCHEME = HttpConversionUtil.ExtensionHeaderNames.SCHEME.text();
    private static final CharSequence PROTOCOL = Http2Headers.PseudoHeaderName.PROTOCOL.value();
    /** Netty's HTTP/1 names for an extended CONNECT's :protocol and :path (see {@link #toHttpRequest}). */
    private static final CharSequence X_PROTOCOL = HttpConversionUtil.ExtensionHeaderNames.PROTOCOL.text();
    private static final CharSequence X_PATH = HttpConversionUtil.ExtensionHeaderNames.PATH.text();

    private Http2Requests() {
    }

    /** Why the request head is malformed (a stream error PROTOCOL_ERROR), or null when it is not. */
    static String malformed(Http2Headers h) {
        CharSequence method = h.method();
        boolean connect = HttpMethod.CONNECT.asciiName().contentEquals(method);
        boolean extended = h.contains(PROTOCOL);
        if (extended) {
            // RFC 8441 section 4: :protocol only on CONNECT, which then has :scheme and :path (Netty checks those,
            // as for any request) and :authority.
            if (!connect) {
                return ":protocol without CONNECT";
            }
            if (h.authority() == null || h.authority().length() == 0) {
                return "extended CONNECT without :authority";
            }
        }
        for (Map.Entry<CharSequence, CharSequence> e : h) {
            CharSequence v = e.getValue();
            int n = v.length();
            // Section 8.2.1: no leading or trailing whitespace (Netty checks the leading one).
            if (n > 0 && (v.charAt(n - 1) == ' ' || v.charAt(n - 1) == '\t')) {
                return "field value with trailing whitespace: " + e.getKey();
            }
        }
        if (connect && !extended) {
            return null; // no :path; answered 405
        }
        CharSequence path = h.path();
        if (path == null || path.length() == 0) {
            return ":path missing";
        }
        boolean asterisk = path.length() == 1 && path.charAt(0) == '*';
        if (asterisk ? !HttpMethod.OPTIONS.asciiName().contentEquals(method) : path.charAt(0) != '/') {
            return ":path is neither origin-form nor '*' for OPTIONS";
        }
        CharSequence authority = h.authority();
        if (authority != null && indexOf(authority, '@') >= 0) {
            return ":authority with userinfo";
        }
        return null;
    }

    /**
     * The request as HTTP/1.1: :authority becomes Host, cookies are joined (section 8.2.3), and a body that is
     * neither empty nor sized is marked chunked, which is how handlers and the proxy learn that one follows. An
     * extended CONNECT becomes {@code CONNECT :path} with its :protocol in {@code x-http2-protocol}.
     */
    static HttpRequest toHttpRequest(int streamId, Http2Headers h, boolean endStream) throws Http2Exception {
        HttpRequest req = HttpConversionUtil.toHttpRequest(streamId, h, false);
        HttpHeaders headers = req.headers();
        // Netty's conversion adds its own x-http2-* fields; none of them may reach an upstream.
        headers.remove(STREAM_ID);
        headers.remove(SCHEME);
        headers.remove(X_PATH);
        CharSequence protocol = h.get(PROTOCOL);
        if (protocol != null) {
            // An extended CONNECT (RFC 8441): addressed like a GET (:path, not :authority as a plain CONNECT), its
            // :protocol kept in Netty's extension field, set here so that a client's own field of that name cannot
            // add a second value. Its DATA is the tunnel's, after the 200, not a body: not marked chunked.
            req.setUri(h.path().toString());
            headers.set(X_PROTOCOL, protocol);
            req.setProtocolVersion(HttpVersion.HTTP_1_1);
            return req;
        }
        headers.remove(X_PROTOCOL); // a client's field of that name would pass for a :protocol
        if (!endStream && !headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, io.netty.handler.codec.http.HttpHeaderValues.CHUNKED);
        }
        req.setProtocolVersion(HttpVersion.HTTP_1_1);
        return req;
    }

    private static int indexOf(CharSequence s, char c) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == c) {
                return i;
            }
        }
        return -1;
    }
}
