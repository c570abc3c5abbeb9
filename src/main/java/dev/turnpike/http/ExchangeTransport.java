package dev.turnpike.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponse;

/**
 * What a protocol connection (an HTTP/1.1 connection, an HTTP/2 stream) provides to the exchange it carries.
 * Implemented by the connection handler; handlers never see it, they talk to {@link Exchange}.
 */
public interface ExchangeTransport {
    Channel channel();

    /** Whether a {@link io.netty.channel.FileRegion} may be written (plain TCP, no TLS, no HTTP/2). */
    boolean zeroCopy();

    String protocol();

    void subscribeBody(BodySink sink);

    void pauseBody();

    void resumeBody();

    /**
     * Queues the response head; the transport adds connection-management headers. It goes out with the next write or
     * flush (so that a transport may send a small response as one buffer): its outcome is the response's.
     */
    void writeHead(HttpResponse head);

    ChannelFuture write(Object content, boolean flush);

    /** Flushes what was written without flushing. */
    void flush();

    /** Writes and flushes the final part; the exchange is complete when the returned future is. */
    ChannelFuture writeLast(Object last);

    /** The response cannot be completed: close the connection so the client sees a truncated response. */
    void abort();

    /**
     * Answers with {@code head} and turns the exchange's stream into a tunnel of raw bytes (see
     * {@link Exchange#switchProtocols}). Returns the channel that carries the tunnel, or null when the stream cannot
     * switch now (nothing was sent then).
     */
    Channel switchProtocols(FullHttpResponse head, ChannelHandler tunnel);
}
