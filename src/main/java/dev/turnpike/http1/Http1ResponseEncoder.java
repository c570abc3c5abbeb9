package dev.turnpike.http1;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;

/**
 * Netty's response encoder, told by the connection handler when the response answers a HEAD request: our
 * request decoder is not Netty's, so the pairing HttpServerCodec does is done here, and a HEAD response never
 * carries body bytes or a terminating chunk. Field lines go out with one copy ({@link Http1HeadWriter}).
 */
final class Http1ResponseEncoder extends HttpResponseEncoder {
    private boolean headRequest;

    void answeringHead(boolean head) {
        this.headRequest = head;
    }

    @Override
    protected boolean isContentAlwaysEmpty(HttpResponse msg) {
        return (headRequest && msg.status().codeClass() != io.netty.handler.codec.http.HttpStatusClass.INFORMATIONAL)
                || super.isContentAlwaysEmpty(msg);
    }

    @Override
    protected void encodeHeaders(HttpHeaders headers, ByteBuf buf) {
        Http1HeadWriter.writeFields(headers, buf);
    }
}
