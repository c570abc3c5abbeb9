package dev.turnpike.accesslog;

/**
 * One finished exchange, captured on the event loop and formatted off it.
 *
 * @param startMillis   wall-clock time the request head arrived
 * @param durationNanos time from request head to the last response byte handed to the socket
 * @param clientAddress the peer's address (the client as seen on the socket, not X-Forwarded-For)
 * @param method        request method
 * @param target        raw request target as received
 * @param protocol      e.g. HTTP/1.1
 * @param status        response status, 0 when the connection broke before a response
 * @param bytesSent     response body bytes written
 * @param referer       Referer header or null
 * @param userAgent     User-Agent header or null
 * @param host          effective host
 * @param requestId     the request ID that was echoed
 * @param route         matched route name, or null
 * @param upstream      upstream address used, or null
 */
public record AccessLogEntry(long startMillis, long durationNanos, String clientAddress, String method, String target,
                             String protocol, int status, long bytesSent, String referer, String userAgent,
                             String host, String requestId, String route, String upstream) {}
