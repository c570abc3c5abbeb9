package dev.turnpike.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Flags;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Settings;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A raw HTTP/2 client for tests: frames are written by hand with Netty's {@link DefaultHttp2FrameWriter} onto a
 * plain socket (so it can send what a real client never would: floods, resets, malformed heads, a window held
 * shut) and read back with {@link DefaultHttp2FrameReader} on a thread of its own, which records streams,
 * resets and GOAWAY. By default it behaves: it acknowledges SETTINGS and returns the window for what it read.
 */
public final class H2Client implements AutoCloseable {
    private static final long WAIT_SECONDS = 20;

    private final Socket socket;
    private final OutputStream out;
    private final DefaultHttp2FrameWriter writer =
            new DefaultHttp2FrameWriter(Http2HeadersEncoder.NEVER_SENSITIVE, true);
    private final EmbeddedChannel writeChannel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
    private final ChannelHandlerContext writeCtx = writeChannel.pipeline().firstContext();
    private final Thread reader;
    private final AtomicInteger nextStreamId = new AtomicInteger(1);

    /** Whether DATA received is given back as window (an honest client); off holds the server's window shut. */
    public volatile boolean returnWindow = true;

    public final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
    public final CompletableFuture<GoAway> goAway = new CompletableFuture<>();
    public final CompletableFuture<Void> closed = new CompletableFuture<>();
    public final CompletableFuture<Http2Settings> serverSettings = new CompletableFuture<>();
    public final AtomicInteger pingAcks = new AtomicInteger();
    public final AtomicLong dataReceived = new AtomicLong();
    /** Every frame read, in order, for failure messages. */
    public final java.util.Queue<String> frames = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** Why reading stopped, when it was not the connection closing. */
    public volatile Exception readFailure;
    /** What the server currently allows this client to send: the connection window and each stream's. */
    private long connectionSendWindow = Http2CodecUtil.DEFAULT_WINDOW_SIZE;
    private long initialStreamSendWindow = Http2CodecUtil.DEFAULT_WINDOW_SIZE;
    private final Map<Integer, Long> streamSendWindows = new ConcurrentHashMap<>();
    private final Object windowLock = new Object();

    public record GoAway(int lastStreamId, long errorCode, String debug) {
    }

    /** What arrived on one stream. */
    public static final class Stream {
        public final List<Http2Headers> heads = new java.util.concurrent.CopyOnWriteArrayList<>();
        final ByteArrayOutputStream body = new ByteArrayOutputStream();
        public volatile Http2Headers trailers;
        public volatile Long resetCode;
        public final CompletableFuture<Stream> done = new CompletableFuture<>();

        public synchronized Http2Headers head() {
            for (Http2Headers h : heads) {
                if (h.status() != null && h.status().charAt(0) != '1') {
                    return h;
                }
            }
            return null;
        }

        public int status() {
            Http2Headers h = head();
            return h == null ? 0 : Integer.parseInt(h.status().toString());
        }

        public String header(String name) {
            CharSequence v = head().get(name);
            return v == null ? null : v.toString();
        }

        public synchronized byte[] bodyBytes() {
            return body.toByteArray();
        }

        public String bodyText() {
            return new String(bodyBytes(), StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return "heads " + heads + ", " + body.size() + " body bytes, trailers " + trailers + ", reset " + resetCode;
        }
    }

    private H2Client(Socket socket) throws IOException {
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.reader = Thread.ofPlatform().daemon().name("h2-test-client-reader").start(this::readLoop);
    }

    public static H2Client connect(int port) throws IOException {
        return connect(port, new Http2Settings());
    }

    /** Connects, sends the connection preface and {@code settings} (prior knowledge). */
    public static H2Client connect(int port, Http2Settings settings) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        s.setTcpNoDelay(true);
        H2Client c = new H2Client(s);
        // In one write: the server answers the preface with its SETTINGS, and the ACK for them must not get
        // ahead of ours (a client's first frame is SETTINGS).
        synchronized (c) {
            c.cork();
            c.raw(ByteBufUtil.getBytes(Http2CodecUtil.connectionPrefaceBuf()));
            c.settings(settings);
            c.uncork();
        }
        return c;
    }

    public static Http2Headers request(String method, String path) {
        return new DefaultHttp2Headers(false).method(method).path(path).scheme("http").authority("localhost");
    }

    public int nextStreamId() {
        return nextStreamId.getAndAdd(2);
    }

    /** Sends a GET for {@code path}; returns the stream ID. */
    public int get(String path) throws IOException {
        return send(request("GET", path), true);
    }

    /** Sends HEADERS on a new stream; returns its ID. */
    public int send(Http2Headers headers, boolean endStream) throws IOException {
        int id = nextStreamId();
        headers(id, headers, endStream);
        return id;
    }

    // ---- frames -----------------------------------------------------------------------------------------------

    public void headers(int streamId, Http2Headers headers, boolean endStream) throws IOException {
        stream(streamId);
        write(() -> writer.writeHeaders(writeCtx, streamId, headers, 0, endStream, writeCtx.newPromise()));
    }

    public void data(int streamId, byte[] bytes, boolean endStream) throws IOException {
        write(() -> writer.writeData(writeCtx, streamId, Unpooled.wrappedBuffer(bytes), 0, endStream,
                writeCtx.newPromise()));
    }

    /**
     * Sends {@code total} body bytes on the stream as the server's windows allow, then (optionally) END_STREAM;
     * returns how many were sent when {@code deadlineMillis} ran out (all of them if it did not).
     */
    public long upload(int streamId, long total, boolean end, long deadlineMillis) throws IOException, InterruptedException {
        byte[] chunk = new byte[16 * 1024];
        long sent = 0;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(deadlineMillis);
        while (sent < total) {
            int n;
            synchronized (windowLock) {
                long streamWindow = streamSendWindows.getOrDefault(streamId, initialStreamSendWindow);
                long allowed = Math.min(Math.min(connectionSendWindow, streamWindow), Math.min(chunk.length, total - sent));
                if (allowed <= 0) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0 || closed.isDone()) {
                        return sent;
                    }
                    windowLock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                    continue;
                }
                n = (int) allowed;
                connectionSendWindow -= n;
                streamSendWindows.put(streamId, streamWindow - n);
            }
            int len = n;
            write(() -> writer.writeData(writeCtx, streamId, Unpooled.wrappedBuffer(chunk, 0, len), 0, false,
                    writeCtx.newPromise()));
            sent += n;
        }
        if (end) {
            data(streamId, new byte[0], true);
        }
        return sent;
    }

    public void rst(int streamId, Http2Error error) throws IOException {
        write(() -> writer.writeRstStream(writeCtx, streamId, error.code(), writeCtx.newPromise()));
    }

    public void settings(Http2Settings settings) throws IOException {
        write(() -> writer.writeSettings(writeCtx, settings, writeCtx.newPromise()));
    }

    public void ping(long data) throws IOException {
        write(() -> writer.writePing(writeCtx, false, data, writeCtx.newPromise()));
    }

    public void priority(int streamId, int dependency, short weight) throws IOException {
        write(() -> writer.writePriority(writeCtx, streamId, dependency, weight, false, writeCtx.newPromise()));
    }

    public void windowUpdate(int streamId, int increment) throws IOException {
        write(() -> writer.writeWindowUpdate(writeCtx, streamId, increment, writeCtx.newPromise()));
    }

    /** A frame with any header, for what DefaultHttp2FrameWriter will not write (e.g. CONTINUATION on its own). */
    public void frame(byte type, int flags, int streamId, byte[] payload) throws IOException {
        ByteBuf buf = Unpooled.buffer(Http2CodecUtil.FRAME_HEADER_LENGTH + payload.length);
        Http2CodecUtil.writeFrameHeader(buf, payload.length, type, new Http2Flags((short) flags), streamId);
        buf.writeBytes(payload);
        raw(ByteBufUtil.getBytes(buf));
        buf.release();
    }

    public synchronized void raw(byte[] bytes) throws IOException {
        if (cork != null) {
            cork.writeBytes(bytes);
            return;
        }
        out.write(bytes);
        out.flush();
    }

    /** Frames written until {@link #uncork()} go out in one write, so the server reads them together. */
    public synchronized void cork() {
        cork = new ByteArrayOutputStream();
    }

    public synchronized void uncork() throws IOException {
        byte[] bytes = cork.toByteArray();
        cork = null;
        raw(bytes);
    }

    private ByteArrayOutputStream cork;

    private interface FrameWrite {
        void run() throws Exception;
    }

    private synchronized void write(FrameWrite w) throws IOException {
        try {
            w.run();
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
        writeChannel.flushOutbound();
        ByteBuf b;
        while ((b = writeChannel.readOutbound()) != null) {
            try {
                raw(ByteBufUtil.getBytes(b));
            } finally {
                b.release();
            }
        }
    }

    /**
     * An HPACK block of literal fields without indexing, exactly in the given order and case: for heads that
     * Netty's encoder would fix (it puts pseudo-header fields first).
     */
    public static byte[] literalBlock(String... namesAndValues) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            b.write(0x00);
            writeString(b, namesAndValues[i]);
            writeString(b, namesAndValues[i + 1]);
        }
        return b.toByteArray();
    }

    private static void writeString(ByteArrayOutputStream b, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.ISO_8859_1);
        if (bytes.length < 127) {
            b.write(bytes.length);
        } else {
            b.write(127);
            int rest = bytes.length - 127;
            while (rest >= 128) {
                b.write((rest & 0x7F) | 0x80);
                rest >>>= 7;
            }
            b.write(rest);
        }
        b.writeBytes(bytes);
    }

    // ---- waiting ----------------------------------------------------------------------------------------------

    public Stream stream(int id) {
        return streams.computeIfAbsent(id, k -> new Stream());
    }

    /** Waits for the stream to end (END_STREAM or a reset). */
    public Stream response(int id) throws Exception {
        return stream(id).done.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    public GoAway awaitGoAway() throws Exception {
        return goAway.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    public boolean awaitClosed(long millis) {
        try {
            closed.get(millis, TimeUnit.MILLISECONDS);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
        try {
            reader.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writeChannel.finishAndReleaseAll();
    }

    // ---- reading ----------------------------------------------------------------------------------------------

    private void readLoop() {
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
        ChannelHandlerContext ctx = ch.pipeline().firstContext();
        DefaultHttp2FrameReader reader = new DefaultHttp2FrameReader(new DefaultHttp2HeadersDecoder(false, 1 << 20));
        ByteBuf in = Unpooled.buffer(64 * 1024);
        Listener listener = new Listener();
        byte[] buf = new byte[64 * 1024];
        try (InputStream is = socket.getInputStream()) {
            int n;
            while ((n = is.read(buf)) >= 0) {
                in.writeBytes(buf, 0, n);
                reader.readFrame(ctx, in, listener);
                in.discardReadBytes();
            }
            this.frames.add("EOF");
        } catch (IOException e) {
            frames.add("closed: " + e);
        } catch (Http2Exception | RuntimeException e) {
            readFailure = e;
            System.err.println("H2Client: reading failed: " + e);
            e.printStackTrace();
        } finally {
            in.release();
            reader.close();
            ch.finishAndReleaseAll();
            for (Stream s : streams.values()) {
                s.done.complete(s);
            }
            synchronized (windowLock) {
                closed.complete(null);
                windowLock.notifyAll();
            }
        }
    }

    private final class Listener extends Http2FrameAdapter {
        @Override
        public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
            Stream s = stream(streamId);
            int n = data.readableBytes();
            frames.add("DATA " + streamId + " " + n + (endOfStream ? " END" : ""));
            synchronized (s) {
                try {
                    data.readBytes(s.body, n);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
            dataReceived.addAndGet(n);
            int processed = n + padding;
            if (returnWindow && processed > 0 && !endOfStream) {
                try {
                    windowUpdate(streamId, processed);
                    windowUpdate(0, processed);
                } catch (IOException e) {
                    // the connection is going away
                }
            } else if (returnWindow && processed > 0) {
                try {
                    windowUpdate(0, processed);
                } catch (IOException e) {
                    // the connection is going away
                }
            }
            if (endOfStream) {
                s.done.complete(s);
            }
            return processed;
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                                  boolean endOfStream) {
            Stream s = stream(streamId);
            frames.add("HEADERS " + streamId + " " + headers.status() + (endOfStream ? " END" : ""));
            synchronized (s) {
                if (headers.status() == null && s.head() != null) {
                    s.trailers = headers;
                } else {
                    s.heads.add(headers);
                }
            }
            if (endOfStream) {
                s.done.complete(s);
            }
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
                                  short weight, boolean exclusive, int padding, boolean endOfStream) {
            onHeadersRead(ctx, streamId, headers, padding, endOfStream);
        }

        @Override
        public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
            Stream s = stream(streamId);
            frames.add("RST " + streamId + " " + errorCode);
            s.resetCode = errorCode;
            s.done.complete(s);
        }

        @Override
        public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
            synchronized (windowLock) {
                Integer w = settings.initialWindowSize();
                if (w != null) {
                    long delta = w - initialStreamSendWindow;
                    initialStreamSendWindow = w;
                    streamSendWindows.replaceAll((id, v) -> v + delta);
                }
                windowLock.notifyAll();
            }
            try {
                write(() -> writer.writeSettingsAck(writeCtx, writeCtx.newPromise()));
            } catch (IOException e) {
                // closing
            }
            serverSettings.complete(settings);
        }

        @Override
        public void onPingAckRead(ChannelHandlerContext ctx, long data) {
            pingAcks.incrementAndGet();
        }

        @Override
        public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int windowSizeIncrement) {
            synchronized (windowLock) {
                if (streamId == 0) {
                    connectionSendWindow += windowSizeIncrement;
                } else {
                    streamSendWindows.merge(streamId, initialStreamSendWindow + windowSizeIncrement,
                            (old, ignored) -> old + windowSizeIncrement);
                }
                windowLock.notifyAll();
            }
        }

        @Override
        public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
            goAway.complete(new GoAway(lastStreamId, errorCode, debugData.toString(StandardCharsets.UTF_8)));
        }
    }
}
