package dev.turnpike.handler;

import dev.turnpike.config.HandlerConfig;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/** Redirects to a target built from placeholders, e.g. {@code https://{host}{uri}}. */
public final class RedirectHandler implements Handler {
    private final HttpResponseStatus status;
    private final Template target;

    public RedirectHandler(HandlerConfig.Redirect config) {
        this.status = HttpResponseStatus.valueOf(config.status());
        this.target = Template.compile(config.target());
    }

    @Override
    public void handle(Exchange exchange) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.EMPTY_BUFFER);
        r.headers().set(HttpHeaderNames.LOCATION, target.expand(exchange));
        exchange.respond(r);
    }
}
