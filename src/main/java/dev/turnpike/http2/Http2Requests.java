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

    private Http2Requests() {
    }

    /** Why the request head is malformed (a stream error PROTOCOL_ERROR), or null when it is not. */
    static String malformed(Http2Headers h) {
        if (h.contains(PROTOCOL)) {
            // Extended CONNECT (RFC 8441) is not offered: SETTINGS_ENABLE_CONNECT_PROTOCOL is never sent.
            return ":protocol without extended CONNECT";
        }
        for (Map.Entry<CharSequence, CharSequence> e : h) {
            CharSequence v = e.getValue();
            int n = v.length();
            // Section 8.2.1: no leading or trailing whitespace (Netty checks the leading one).
            if (n > 0 && (v.charAt(n - 1) == ' ' || v.charAt(n - 1) == '\t')) {
                return "field value with trailing whitespace: " + e.getKey();
            }
        }
        CharSequence method = h.method();
        if (HttpMethod.CONNECT.asciiName().contentEquals(method)) {
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
     * neither empty nor sized is marked chunked, which is how handlers and the proxy learn that one follows.
     */
    static HttpRequest toHttpRequest(int streamId, Http2Headers h, boolean endStream) throws Http2Exception {
        HttpRequest req = HttpConversionUtil.toHttpRequest(streamId, h, false);
        HttpHeaders headers = req.headers();
        // Netty's conversion adds its own x-http2-* fields; none of them may reach an upstream.
        headers.remove(STREAM_ID);
        headers.remove(SCHEME);
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
