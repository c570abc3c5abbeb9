package dev.turnpike.handler;

import dev.turnpike.config.HandlerConfig;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** Answers with a configured status, body and headers. A constant body is encoded once, at load time. */
public final class RespondHandler implements Handler {
    private static final String DEFAULT_TYPE = "text/plain; charset=utf-8";

    private final HttpResponseStatus status;
    private final Template body;
    private final ByteBuf constantBody;
    private final Map<String, Template> headers;

    public RespondHandler(HandlerConfig.Respond config) {
        this.status = HttpResponseStatus.valueOf(config.status());
        this.body = Template.compile(config.body());
        this.constantBody = body.isConstant()
                ? Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(config.body().getBytes(StandardCharsets.UTF_8)).asReadOnly())
                : null;
        Map<String, Template> h = new LinkedHashMap<>();
        config.headers().forEach((k, v) -> h.put(k, Template.compile(v)));
        if (!config.body().isEmpty() && h.keySet().stream().noneMatch(k -> k.equalsIgnoreCase("content-type"))) {
            h.put(HttpHeaderNames.CONTENT_TYPE.toString(), Template.compile(DEFAULT_TYPE));
        }
        this.headers = Map.copyOf(h);
    }

    @Override
    public void handle(Exchange exchange) {
        ByteBuf content = constantBody != null ? constantBody.duplicate()
                : ByteBufUtil.writeUtf8(exchange.alloc(), body.expand(exchange));
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        headers.forEach((k, v) -> r.headers().set(k, v.expand(exchange)));
        exchange.respond(r);
    }
}
