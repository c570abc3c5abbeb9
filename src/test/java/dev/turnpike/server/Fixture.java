package dev.turnpike.server;

import dev.turnpike.config.ConfigLoader;
import dev.turnpike.config.TurnpikeConfig;
import dev.turnpike.http.BodySink;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import dev.turnpike.testing.RawClient;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Test fixture: a real Turnpike on loopback started from YAML, where routes named in {@code handlers} are
 * answered by test handlers (body readers, slow or stuck handlers) instead of their configured ones.
 */
public final class Fixture implements AutoCloseable {
    static {
        // Every buffer is tracked: a leak shows up as "LEAK:" in the test output (checked by LeakCheck).
        io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.PARANOID);
    }

    private final TurnpikeServer server;

    private Fixture(TurnpikeServer server) {
        this.server = server;
    }

    public static Fixture start(String yaml) throws Exception {
        return start(yaml, Map.of());
    }

    public static Fixture start(String yaml, Map<String, Supplier<Handler>> handlers) throws Exception {
        return start(yaml, handlers, Path.of("").toAbsolutePath());
    }

    public static Fixture start(String yaml, Map<String, Supplier<Handler>> handlers, Path baseDir) throws Exception {
        TurnpikeConfig config = ConfigLoader.parse(yaml, "test.yaml", baseDir);
        return new Fixture(TurnpikeServer.start(config, (route, cfg, ctx) -> {
            Supplier<Handler> s = handlers.get(route.name());
            return s != null ? s.get() : HandlerFactory.DEFAULT.create(route, cfg, ctx);
        }));
    }

    public int port() {
        return server.boundAddresses().getFirst().getPort();
    }

    public int port(int listener) {
        return server.boundAddresses().get(listener).getPort();
    }

    public RawClient connect() throws IOException {
        return RawClient.connect(port());
    }

    public TurnpikeServer server() {
        return server;
    }

    public void shutdown(Duration timeout) {
        server.shutdown(timeout);
    }

    @Override
    public void close() {
        server.shutdown(Duration.ZERO);
    }

    // ---- test handlers ----------------------------------------------------------------------------------

    /** Answers 200 text/plain with {@code text}, counting how often it ran. */
    public static final class Counting implements Handler {
        public final AtomicInteger calls = new AtomicInteger();
        private final String text;

        public Counting(String text) {
            this.text = text;
        }

        @Override
        public void handle(Exchange exchange) {
            calls.incrementAndGet();
            exchange.respond(HttpResponseStatus.OK, "text/plain", Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
        }
    }

    /**
     * Reads the whole request body, then answers 200 with "echo:" + the body (or, after {@code delayMillis},
     * as a slow handler would). A body error is recorded; the connection answers it.
     */
    public static final class Echo implements Handler {
        public final AtomicInteger calls = new AtomicInteger();
        public final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        private final long delayMillis;

        public Echo() {
            this(0);
        }

        public Echo(long delayMillis) {
            this.delayMillis = delayMillis;
        }

        @Override
        public void handle(Exchange exchange) {
            calls.incrementAndGet();
            ByteBuf body = exchange.alloc().buffer();
            body.writeCharSequence("echo:", StandardCharsets.US_ASCII);
            exchange.subscribeBody(new BodySink() {
                @Override
                public void onContent(HttpContent content) {
                    body.writeBytes(content.content());
                    content.release();
                }

                @Override
                public void onEnd(LastHttpContent last) {
                    last.release();
                    Runnable answer = () -> {
                        if (!exchange.isFinished()) {
                            exchange.respond(HttpResponseStatus.OK, "text/plain", body);
                        } else {
                            body.release();
                        }
                    };
                    if (delayMillis > 0) {
                        exchange.eventLoop().schedule(answer, delayMillis, TimeUnit.MILLISECONDS);
                    } else {
                        answer.run();
                    }
                }

                @Override
                public void onError(Throwable cause) {
                    errors.add(cause);
                    body.release();
                }
            });
        }
    }

    /** Answers after {@code delayMillis} without reading the body. */
    public static final class Slow implements Handler {
        private final long delayMillis;

        public Slow(long delayMillis) {
            this.delayMillis = delayMillis;
        }

        @Override
        public void handle(Exchange exchange) {
            exchange.eventLoop().schedule(() -> {
                if (!exchange.isFinished()) {
                    exchange.respond(HttpResponseStatus.OK, "text/plain", Unpooled.copiedBuffer("slow", StandardCharsets.US_ASCII));
                }
            }, delayMillis, TimeUnit.MILLISECONDS);
        }
    }

    /** Never answers; records aborts. */
    public static final class Stuck implements Handler {
        public final AtomicInteger aborts = new AtomicInteger();

        @Override
        public void handle(Exchange exchange) {
            exchange.onAbort(aborts::incrementAndGet);
        }
    }

    /** Sends a head, then gives up (as a proxy does when its upstream breaks mid-response). */
    public static final class Aborts implements Handler {
        @Override
        public void handle(Exchange exchange) {
            var head = new io.netty.handler.codec.http.DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_LENGTH, 100);
            exchange.sendHead(head);
            exchange.sendAndFlush(Unpooled.copiedBuffer("partial", StandardCharsets.US_ASCII));
            exchange.abort();
        }
    }

    /** Answers with an error Turnpike generates (so custom error pages apply). */
    public static final class Fails implements Handler {
        private final HttpResponseStatus status;

        public Fails(int status) {
            this.status = HttpResponseStatus.valueOf(status);
        }

        @Override
        public void handle(Exchange exchange) {
            exchange.sendError(status, "test handler failed");
        }
    }

    /** Streams a response: head with no length, then one part, then the end. */
    public static final class Streams implements Handler {
        @Override
        public void handle(Exchange exchange) {
            var head = new io.netty.handler.codec.http.DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
            exchange.sendHead(head);
            exchange.send(new io.netty.handler.codec.http.DefaultHttpContent(
                    Unpooled.copiedBuffer("streamed", StandardCharsets.US_ASCII)));
            exchange.end();
        }
    }

    // ---- upstream ----------------------------------------------------------------------------------------

    /**
     * A tiny HTTP/1.1 origin on a plain ServerSocket: counts accepted connections and answers each request
     * (after {@code delayMillis}) with 200 and the request's body, then closes.
     */
    public static final class Upstream implements AutoCloseable {
        public final AtomicInteger accepted = new AtomicInteger();
        private final ServerSocket socket;
        private final Thread thread;

        public Upstream(long delayMillis) throws IOException {
            socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            thread = Thread.ofPlatform().daemon(true).name("test-upstream").start(() -> {
                while (!socket.isClosed()) {
                    try {
                        Socket s = socket.accept();
                        accepted.incrementAndGet();
                        Thread.ofPlatform().daemon(true).start(() -> serve(s, delayMillis));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        public String url() {
            return "http://127.0.0.1:" + socket.getLocalPort();
        }

        private static void serve(Socket s, long delayMillis) {
            try (s) {
                s.setSoTimeout(10_000);
                InputStream in = s.getInputStream();
                StringBuilder head = new StringBuilder();
                int b;
                while ((b = in.read()) != -1) {
                    head.append((char) b);
                    if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
                        break;
                    }
                }
                int length = 0;
                boolean chunked = false;
                for (String line : head.toString().split("\r\n")) {
                    String l = line.toLowerCase(java.util.Locale.ROOT);
                    if (l.startsWith("content-length:")) {
                        length = Integer.parseInt(l.substring(15).trim());
                    } else if (l.startsWith("transfer-encoding:") && l.contains("chunked")) {
                        chunked = true;
                    }
                }
                byte[] body;
                if (chunked) {
                    java.io.ByteArrayOutputStream bo = new java.io.ByteArrayOutputStream();
                    while (true) {
                        String size = readLine(in);
                        int n = Integer.parseInt(size.split(";")[0].trim(), 16);
                        if (n == 0) {
                            while (!readLine(in).isEmpty()) { }
                            break;
                        }
                        bo.write(in.readNBytes(n));
                        readLine(in);
                    }
                    body = bo.toByteArray();
                } else {
                    body = in.readNBytes(length);
                }
                if (delayMillis > 0) {
                    Thread.sleep(delayMillis);
                }
                OutputStream out = s.getOutputStream();
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + (body.length + 9)
                        + "\r\nConnection: close\r\n\r\nupstream:").getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
            } catch (IOException | InterruptedException | RuntimeException e) {
                // the test decides what it expected
            }
        }

        private static String readLine(InputStream in) throws IOException {
            StringBuilder sb = new StringBuilder();
            int b;
            while ((b = in.read()) != -1 && b != '\n') {
                if (b != '\r') {
                    sb.append((char) b);
                }
            }
            return sb.toString();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
