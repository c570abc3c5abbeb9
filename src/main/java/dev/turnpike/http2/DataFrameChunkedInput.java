package dev.turnpike.http2;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.stream.ChunkedInput;
import io.netty.util.ReferenceCountUtil;

/**
 * A file body (or any chunked body) as DATA frames for the stream channel's ChunkedWriteHandler. None of them
 * ends the stream: the exchange's end does, as on HTTP/1.1 (Netty's Http2DataChunkedInput ends it itself).
 */
final class DataFrameChunkedInput implements ChunkedInput<Http2DataFrame> {
    private final ChunkedInput<?> input;

    DataFrameChunkedInput(ChunkedInput<?> input) {
        this.input = input;
    }

    @Override
    public boolean isEndOfInput() throws Exception {
        return input.isEndOfInput();
    }

    @Override
    public void close() throws Exception {
        input.close();
    }

    @Deprecated
    @Override
    public Http2DataFrame readChunk(ChannelHandlerContext ctx) throws Exception {
        return readChunk(ctx.alloc());
    }

    @Override
    public Http2DataFrame readChunk(ByteBufAllocator allocator) throws Exception {
        Object chunk = input.readChunk(allocator);
        if (chunk == null) {
            return null;
        }
        ByteBuf data;
        if (chunk instanceof ByteBuf b) {
            data = b;
        } else if (chunk instanceof ByteBufHolder holder) {
            data = holder.content();
        } else {
            ReferenceCountUtil.release(chunk);
            throw new IllegalStateException("unsupported chunk: " + chunk.getClass().getName());
        }
        return new DefaultHttp2DataFrame(data, false);
    }

    @Override
    public long length() {
        return input.length();
    }

    @Override
    public long progress() {
        return input.progress();
    }
}
