package dev.turnpike.http2;

import dev.turnpike.config.ListenerConfig;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2RemoteFlowController;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.UniformStreamByteDistributor;
import io.netty.util.AsciiString;

/**
 * Netty's frame codec with the listener's settings and every protection Netty offers switched on, plus
 * {@link FrameFloodGuard} around the decoder for the floods Netty does not count. Netty enforces: the
 * concurrent-stream limit (REFUSED_STREAM), the header list size (431, or GOAWAY past 1.25 times the limit
 * including what is buffered across CONTINUATION frames), small-CONTINUATION floods, consecutive empty DATA
 * frames, RST_STREAM frames received (rapid reset) and sent (provoked resets) per window, control frames queued
 * for a peer that does not read, header validation (RFC 9113 section 8.2: pseudo-headers, connection-specific
 * fields, TE, upper-case names, field values), content-length against DATA (section 8.1.1), and an HPACK encoder
 * table capped at 4 KiB whatever the client advertises. It advertises SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441):
 * a CONNECT with {@code :protocol} is checked like any request (see {@link Http2Requests#malformed}).
 */
final class ServerCodecBuilder extends Http2FrameCodecBuilder {
    private final ListenerConfig.Http2 cfg;

    private ServerCodecBuilder(ListenerConfig.Http2 cfg) {
        this.cfg = cfg;
        // A server connection whose streams share the connection's window evenly: PRIORITY (deprecated by RFC 9113)
        // is not honoured, and Netty's weighted priority tree cost about a tenth of the event loop on short
        // requests, bookkeeping every stream opened and closed.
        DefaultHttp2Connection connection = new DefaultHttp2Connection(true);
        connection.remote().flowController(new DefaultHttp2RemoteFlowController(connection,
                new UniformStreamByteDistributor(connection)));
        connection(connection);
    }

    /**
     * @param requestIdHeader the request-ID field: unique in every response, so it is never put in the HPACK
     *                        table, where it would only push out entries that do repeat
     */
    static Http2FrameCodec build(ListenerConfig.Http2 cfg, AsciiString requestIdHeader) {
        int resetSeconds = (int) Math.max(1, cfg.resetWindow().toSeconds());
        Http2Settings settings = Http2Settings.defaultSettings()
                .maxConcurrentStreams(cfg.maxConcurrentStreams())
                .initialWindowSize(cfg.initialWindowSize())
                .maxFrameSize(cfg.maxFrameSize())
                .maxHeaderListSize(cfg.maxHeaderListSize())
                .headerTableSize(cfg.headerTableSize())
                // RFC 8441: clients may open WebSockets with extended CONNECT. Always on, as nginx and Envoy do:
                // routes without WebSockets answer such a request with an error status like any other they do
                // not serve, and a client that sees the setting off would only fall back to a second connection.
                .connectProtocolEnabled(true);
        return new ServerCodecBuilder(cfg)
                .initialSettings(settings)
                .headerSensitivityDetector((name, value) -> requestIdHeader.contentEqualsIgnoreCase(name))
                .validateHeaders(true)
                .validateRequiredPseudoHeaders(true)
                .decoderEnforceMaxRstFramesPerWindow(cfg.maxResets(), resetSeconds)
                .encoderEnforceMaxRstFramesPerWindow(cfg.maxResets(), resetSeconds)
                .decoderEnforceMaxSmallContinuationFrames(cfg.maxContinuationFrames())
                .encoderEnforceMaxQueuedControlFrames(cfg.maxQueuedControlFrames())
                // Closing a connection sends GOAWAY and closes at once; a drain waits for its streams (see
                // Http2ServerConnection) and the server's shutdown deadline bounds that wait.
                .gracefulShutdownTimeoutMillis(0)
                .build();
    }

    @Override
    protected Http2FrameCodec build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
                                    Http2Settings initialSettings) {
        return super.build(new FrameFloodGuard(decoder, cfg.maxControlFrames(), cfg.controlFrameWindow().toNanos()),
                encoder, initialSettings);
    }
}
