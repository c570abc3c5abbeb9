package dev.turnpike.websocket;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The opening handshake of RFC 6455 (section 4) as a proxy checks it: the client's request before it goes upstream,
 * and the upstream's 101 before it goes back. A request that fails a rule never reaches an upstream.
 *
 * <p>Over HTTP/2 the handshake is RFC 8441's extended CONNECT ({@link #checkOverHttp2}): no key, no Upgrade, and a
 * 200 instead of the 101. Upstreams are spoken to over HTTP/1.1 either way, so the proxy makes up the key the
 * upstream's 101 is checked against ({@link #newKey}).
 */
public final class WebSocketHandshake {
    /** The only version RFC 6455 defines; a 426 names it. */
    public static final AsciiString VERSION = AsciiString.cached("13");
    private static final byte[] GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11".getBytes(StandardCharsets.US_ASCII);
    /** Where an HTTP/2 extended CONNECT's {@code :protocol} is in the request handlers see (see the transport). */
    public static final AsciiString H2_PROTOCOL =
            AsciiString.of(io.netty.handler.codec.http2.HttpConversionUtil.ExtensionHeaderNames.PROTOCOL.text());
    /** RFC 6455 section 4.1: the key must be randomly selected for each connection; unpredictable is cheap enough. */
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Why a handshake request is refused, and with what status. */
    public record Rejection(HttpResponseStatus status, String detail) {}

    private WebSocketHandshake() {
    }

    /**
     * Whether {@code headers} ask for a WebSocket: the Upgrade field lists {@code websocket}. Such a request is a
     * handshake attempt and must pass {@link #check}; any other Upgrade is ignored by the proxy (RFC 9110 allows it).
     */
    public static boolean isRequested(HttpHeaders headers) {
        return headers.containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
    }

    /** The first rule {@code req} breaks (RFC 6455 section 4.2.1), or null when it is a valid handshake. */
    public static Rejection check(HttpRequest req) {
        HttpHeaders h = req.headers();
        if (req.method() != HttpMethod.GET) {
            return new Rejection(HttpResponseStatus.BAD_REQUEST, "A WebSocket handshake must be a GET request.");
        }
        if (req.protocolVersion() != HttpVersion.HTTP_1_1) {
            return new Rejection(HttpResponseStatus.BAD_REQUEST, "A WebSocket handshake needs HTTP/1.1.");
        }
        if (!h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)) {
            return new Rejection(HttpResponseStatus.BAD_REQUEST,
                    "A WebSocket handshake must list 'upgrade' in its Connection header.");
        }
        if (h.getAll(HttpHeaderNames.SEC_WEBSOCKET_VERSION).size() != 1
                || !VERSION.contentEquals(h.get(HttpHeaderNames.SEC_WEBSOCKET_VERSION).strip())) {
            return new Rejection(HttpResponseStatus.UPGRADE_REQUIRED, "Only WebSocket version 13 is supported.");
        }
        if (h.getAll(HttpHeaderNames.SEC_WEBSOCKET_KEY).size() != 1
                || !isValidKey(h.get(HttpHeaderNames.SEC_WEBSOCKET_KEY))) {
            return new Rejection(HttpResponseStatus.BAD_REQUEST,
                    "Sec-WebSocket-Key must be 16 bytes encoded in base64.");
        }
        return null;
    }

    /**
     * Whether {@code req} is an RFC 8441 WebSocket handshake: a CONNECT whose {@code :protocol} is {@code websocket}.
     * The HTTP/2 transport hands an extended CONNECT on with its {@code :path} as the URI and its {@code :protocol}
     * in {@link #H2_PROTOCOL} (Netty's own name for it, which no client can set: the transport removes it from any
     * other request); HTTP/1.1 refuses CONNECT before any handler sees it.
     */
    public static boolean isRequestedOverHttp2(HttpRequest req) {
        if (req.method() != HttpMethod.CONNECT) {
            return false;
        }
        String protocol = req.headers().get(H2_PROTOCOL);
        return protocol != null && protocol.equalsIgnoreCase(HttpHeaderValues.WEBSOCKET.toString());
    }

    /**
     * The first rule an RFC 8441 handshake breaks (sections 4 and 5), or null when it is valid: exactly one
     * {@code sec-websocket-version: 13}, and neither {@code sec-websocket-key} (HTTP/2 has no use for the nonce; a
     * client that sends one is confused about which protocol it speaks) nor the HTTP/1.1 upgrade fields (the codec
     * already refuses them as connection-specific; checked here too so that the rules live in one place).
     * {@code :method}, {@code :protocol}, {@code :scheme}, {@code :path} and {@code :authority} were checked by the
     * transport: a request without them is malformed and never reaches a handler.
     */
    public static Rejection checkOverHttp2(HttpRequest req) {
        HttpHeaders h = req.headers();
        if (!isRequestedOverHttp2(req)) {
            return new Rejection(HttpResponseStatus.BAD_REQUEST,
                    "A WebSocket over HTTP/2 is an extended CONNECT with :protocol websocket.");
        }
        if (h.contains(HttpHeaderNames.UPGRADE) || h.contains(HttpHeaderNames.CONNECTION)) {
            return new Rejection(HttpResponseStatus.BAD_REQUEST,
                    "Upgrade and Connection are not allowed in an HTTP/2 WebSocket handshake.");
        }
        if (h.getAll(HttpHeaderNames.SEC_WEBSOCKET_VERSION).size() != 1
                || !VERSION.contentEquals(h.get(HttpHeaderNames.SEC_WEBSOCKET_VERSION).strip())) {
            return new Rejection(HttpResponseStatus.UPGRADE_REQUIRED, "Only WebSocket version 13 is supported.");
        }
        if (h.contains(HttpHeaderNames.SEC_WEBSOCKET_KEY)) {
            return new Rejection(HttpResponseStatus.BAD_REQUEST,
                    "Sec-WebSocket-Key is not used in an HTTP/2 WebSocket handshake (RFC 8441).");
        }
        return null;
    }

    /** A fresh Sec-WebSocket-Key (16 random bytes in base64) for a handshake the proxy makes on a client's behalf. */
    public static String newKey() {
        byte[] nonce = new byte[16];
        RANDOM.nextBytes(nonce);
        return Base64.getEncoder().encodeToString(nonce);
    }

    /** A nonce of 16 bytes in base64: exactly 24 characters ending in "==". */
    static boolean isValidKey(String key) {
        String k = key.strip();
        if (k.length() != 24) {
            return false;
        }
        try {
            return Base64.getDecoder().decode(k).length == 16;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** The {@code Sec-WebSocket-Accept} a server must answer to {@code key} (section 4.2.2, step 5.4). */
    public static String accept(String key) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            sha1.update(key.strip().getBytes(StandardCharsets.US_ASCII));
            sha1.update(GUID);
            return Base64.getEncoder().encodeToString(sha1.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required of every Java runtime", e);
        }
    }

    /**
     * Why the upstream's 101 does not complete the handshake the client asked for (section 4.1, the client's
     * checks), or null when it does: Upgrade websocket, Connection upgrade, and the accept of {@code key}.
     */
    public static String checkResponse(HttpResponse response, String expectedAccept) {
        HttpHeaders h = response.headers();
        if (!isRequested(h)) {
            return "its 101 does not upgrade to websocket";
        }
        if (!h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)) {
            return "its 101 lacks Connection: upgrade";
        }
        String accept = h.get(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT);
        if (accept == null || !accept.strip().equals(expectedAccept)) {
            return "its Sec-WebSocket-Accept does not match the key";
        }
        return null;
    }
}
