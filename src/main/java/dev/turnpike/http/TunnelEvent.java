package dev.turnpike.http;

/**
 * What the connection tells a tunnel (an exchange that switched protocols, see {@link Exchange#switchProtocols}),
 * fired as a user event into the tunnel's pipeline. Protocol-independent: an HTTP/1.1 connection fires it into its
 * own pipeline, an HTTP/2 connection would fire it into the stream's.
 */
public enum TunnelEvent {
    /**
     * The server is shutting down (drain): end the tunnel gracefully and soon. A WebSocket sends close frames with
     * 1001 (going away) both ways instead of cutting TCP.
     */
    GOING_AWAY
}
