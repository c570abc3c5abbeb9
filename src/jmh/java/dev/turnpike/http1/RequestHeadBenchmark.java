package dev.turnpike.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Parsing one request head with {@link StrictHttp1RequestDecoder}: decode() is called directly (no pipeline), on a
 * connection that stays between requests as keep-alive leaves it, and the HttpRequest it produces is released.
 */
@State(Scope.Thread)
public class RequestHeadBenchmark {

    /** curl-like: 3 headers; browser-like: 11 headers, ~500 bytes. */
    @Param({"curl", "browser"})
    public String head;

    private StrictHttp1RequestDecoder decoder;
    private ChannelHandlerContext ctx;
    private EmbeddedChannel channel;
    private ByteBuf request;
    private final List<Object> out = new ArrayList<>(4);

    @Setup(Level.Trial)
    public void setUp() {
        String text = switch (head) {
            case "curl" -> "GET /api/users/42?fields=name HTTP/1.1\r\nHost: api.example.com\r\n"
                    + "User-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";
            default -> "GET /assets/app.3f2a9c0d.js HTTP/1.1\r\nHost: www.example.com\r\n"
                    + "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
                    + "Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"
                    + "Referer: https://www.example.com/\r\nConnection: keep-alive\r\n"
                    + "Cookie: session=3f2a9c0d1e7b4a65b0c2d4e6f8a0b1c3; theme=dark\r\nSec-Fetch-Dest: script\r\n"
                    + "Sec-Fetch-Mode: no-cors\r\nSec-Fetch-Site: same-origin\r\n\r\n";
        };
        request = Unpooled.unreleasableBuffer(
                Unpooled.directBuffer(text.length()).writeBytes(text.getBytes(StandardCharsets.US_ASCII)));
        decoder = new StrictHttp1RequestDecoder(new Http1Limits(8192, 32768, 100));
        channel = new EmbeddedChannel(decoder);
        ctx = channel.pipeline().context(decoder);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        channel.finishAndReleaseAll();
    }

    @Benchmark
    public Object parse() {
        ByteBuf in = request.duplicate();
        decoder.decode(ctx, in, out);
        Object first = out.getFirst();
        for (Object o : out) {
            ReferenceCountUtil.release(o);
        }
        out.clear();
        return first;
    }
}
