package dev.turnpike.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP/2 cleartext (prior knowledge) server on loopback for proxy tests, built on Netty's frame codec: each stream
 * is handed, once its request HEADERS arrived, to a handler on a virtual thread of its own, which reads the body
 * (only as fast as it asks: the stream does not auto-read, so flow control holds the sender back) and answers frame
 * by frame, waiting for each write (a DATA write completes only when the window lets it out). It counts connections
 * and streams. Its buffers come from an allocator of its own, so Turnpike's direct memory can be measured apart.
 */
public final class H2cUpstream implements AutoCloseable {

    @FunctionalInterface
    public interface Handler {
        void handle(Stream s) throws Exception;
    }

    private static final Object END = new Object();

    /** One request stream. Blocking methods; call them from the handler's thread. */
    public static final class Stream {
        public final Http2StreamChannel ch;
        public final Http2Headers headers;
        /** Index of the connection (0, 1, …) in accept order. */
        public final int connection;
        private final BlockingQueue<Object> inbound = new LinkedBlockingQueue<>();
        private volatile Http2Headers trailers;
        private boolean ended;

        Stream(Http2StreamChannel ch, Http2Headers headers, int connection, boolean endStream) {
            this.ch = ch;
            this.headers = headers;
            this.connection = connection;
            this.ended = endStream;
        }

        public int id() {
            return ch.stream().id();
        }

        public String header(String name) {
            CharSequence v = headers.get(name);
            return v == null ? null : v.toString();
        }

        public String path() {
            return headers.path().toString();
        }

        public String method() {
            return headers.method().toString();
        }

        /** The next piece of the request body, or null at its end. */
        public byte[] read() throws InterruptedException {
            if (ended) {
                return null;
            }
            for (;;) {
                Object o = inbound.poll();
                if (o == null) {
                    ch.eventLoop().execute(ch::read);
                    o = inbound.poll(10, TimeUnit.SECONDS);
                    if (o == null) {
                        throw new AssertionError("no request body within 10s");
                    }
                }
                if (o == END) {
                    ended = true;
                    return null;
                }
                return (byte[]) o;
            }
        }

        public byte[] body() throws InterruptedException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] b;
            while ((b = read()) != null) {
                out.writeBytes(b);
            }
            return out.toByteArray();
        }

        public String bodyText() throws InterruptedException {
            return new String(body(), StandardCharsets.UTF_8);
        }

        /** The request's trailers, once the body was read to its end; null when there were none. */
        public Http2Headers trailers() {
            return trailers;
        }

        public void headers(int status, Map<String, String> fields, boolean endStream) throws Exception {
            Http2Headers h = new DefaultHttp2Headers().status(Integer.toString(status));
            fields.forEach((k, v) -> h.add(k.toLowerCase(java.util.Locale.ROOT), v));
            ch.writeAndFlush(new DefaultHttp2HeadersFrame(h, endStream)).sync();
        }

        public void data(byte[] bytes, boolean endStream) throws Exception {
            ch.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(bytes), endStream)).sync();
        }

        public void trailers(Map<String, String> fields) throws Exception {
            Http2Headers h = new DefaultHttp2Headers();
            fields.forEach((k, v) -> h.add(k.toLowerCase(java.util.Locale.ROOT), v));
            ch.writeAndFlush(new DefaultHttp2HeadersFrame(h, true)).sync();
        }

        public void respond(int status, String body) throws Exception {
            respond(status, Map.of(), body);
        }

        public void respond(int status, Map<String, String> fields, String body) throws Exception {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            Map<String, String> all = new java.util.LinkedHashMap<>(fields);
            all.putIfAbsent("content-length", Integer.toString(b.length));
            headers(status, all, b.length == 0);
            if (b.length > 0) {
                data(b, true);
            }
        }

        public void reset(Http2Error error) throws Exception {
            ch.writeAndFlush(new DefaultHttp2ResetFrame(error)).sync();
        }

        /** The connection of this stream. */
        public Channel parent() {
            return ch.parent();
        }

        void deliver(Object o) {
            inbound.add(o);
        }

        void trailersReceived(Http2Headers h) {
            trailers = h;
        }
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final Channel server;
    private final Handler handler;
    public final AtomicInteger connections = new AtomicInteger();
    public final AtomicInteger streams = new AtomicInteger();
    public final AtomicInteger maxActiveStreams = new AtomicInteger();
    public final List<Channel> parents = new CopyOnWriteArrayList<>();
    public final BlockingQueue<Stream> requests = new LinkedBlockingQueue<>();

    private H2cUpstream(Handler handler, Long maxConcurrentStreams) throws InterruptedException {
        this.handler = handler;
        Http2Settings settings = Http2Settings.defaultSettings();
        if (maxConcurrentStreams != null) {
            settings.maxConcurrentStreams(maxConcurrentStreams);
        }
        PooledByteBufAllocator alloc = new PooledByteBufAllocator(false); // heap, apart from Turnpike's
        this.server = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.ALLOCATOR, alloc)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        int index = connections.getAndIncrement();
                        parents.add(ch);
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().initialSettings(settings).build(),
                                new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                                    @Override
                                    protected void initChannel(Http2StreamChannel s) {
                                        s.pipeline().addLast(new StreamHandler(index));
                                    }
                                }));
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    public static H2cUpstream start(Handler handler) throws InterruptedException {
        return new H2cUpstream(handler, null);
    }

    public static H2cUpstream start(long maxConcurrentStreams, Handler handler) throws InterruptedException {
        return new H2cUpstream(handler, maxConcurrentStreams);
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    public Stream nextRequest() throws InterruptedException {
        Stream s = requests.poll(10, TimeUnit.SECONDS);
        if (s == null) {
            throw new AssertionError("the upstream received no request");
        }
        return s;
    }

    /**
     * Sends GOAWAY on {@code parent} with {@code lastStreamId} (streams above it were not processed and are closed
     * here), as a server shutting down does.
     */
    public static void goAway(Channel parent, int lastStreamId) throws Exception {
        parent.eventLoop().submit(() -> {
            Http2FrameCodec codec = parent.pipeline().get(Http2FrameCodec.class);
            codec.goAway(parent.pipeline().context(codec), lastStreamId, Http2Error.NO_ERROR.code(),
                    Unpooled.EMPTY_BUFFER, parent.newPromise());
            parent.flush();
        }).sync();
    }

    /** Per stream: the request HEADERS start the handler; DATA and trailers feed its queue as it reads. */
    private final class StreamHandler extends ChannelInboundHandlerAdapter {
        private final int connection;
        private Stream stream;

        StreamHandler(int connection) {
            this.connection = connection;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2HeadersFrame h && stream == null) {
                    ctx.channel().config().setAutoRead(false); // the handler reads the body as it wants it
                    stream = new Stream((Http2StreamChannel) ctx.channel(), h.headers(), connection, h.isEndStream());
                    streams.incrementAndGet();
                    // Streams open on this connection as the codec counts them (a stream a handler leaves
                    // unread stays open here, not there).
                    maxActiveStreams.accumulateAndGet(((Http2StreamChannel) ctx.channel()).parent().pipeline()
                            .get(Http2FrameCodec.class).connection().remote().numActiveStreams(), Math::max);
                    requests.add(stream);
                    Stream s = stream;
                    threads.execute(() -> {
                        try {
                            handler.handle(s);
                        } catch (Throwable e) {
                            s.ch.close();
                        }
                    });
                } else if (msg instanceof Http2HeadersFrame h) {
                    stream.trailersReceived(h.headers());
                    stream.deliver(END);
                } else if (msg instanceof Http2DataFrame d) {
                    ByteBuf c = d.content();
                    byte[] b = new byte[c.readableBytes()];
                    c.readBytes(b);
                    if (b.length > 0) {
                        stream.deliver(b);
                    }
                    if (d.isEndStream()) {
                        stream.deliver(END);
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (stream != null) {
                stream.deliver(END);
            }
        }
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        for (Channel p : parents) {
            p.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        threads.shutdownNow();
    }
}
