package dev.turnpike.server;

import dev.turnpike.config.ConfigLoader;
import dev.turnpike.proxy.TestUpstream;
import dev.turnpike.reload.ConfigSource;
import dev.turnpike.reload.ReloadResult;
import dev.turnpike.testing.RawClient;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Test fixture for reloads: a real Turnpike started from a YAML file that the test rewrites, reloading from it as
 * SIGHUP would. Also an upstream that answers {@code /stream?n=N&ms=M} with N chunks, one every M ms.
 */
final class Reloading implements AutoCloseable {
    static {
        io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.PARANOID);
    }

    final Path file;
    final TurnpikeServer server;

    private Reloading(Path file, TurnpikeServer server) {
        this.file = file;
        this.server = server;
    }

    static Reloading start(Path dir, String yaml) throws Exception {
        return start(dir, yaml, HandlerFactory.DEFAULT);
    }

    static Reloading start(Path dir, String yaml, HandlerFactory handlers) throws Exception {
        Path file = dir.resolve("turnpike.yaml");
        Files.writeString(file, yaml);
        return new Reloading(file, TurnpikeServer.start(ConfigLoader.load(file, Map.of()), handlers,
                ConfigSource.file(file, Map.of())));
    }

    /** Writes {@code yaml} and reloads it, as SIGHUP does; waits for the outcome. */
    ReloadResult reload(String yaml) throws Exception {
        Files.writeString(file, yaml);
        return server.reload("SIGHUP").get(30, TimeUnit.SECONDS);
    }

    int port() {
        return server.boundAddresses().getFirst().getPort();
    }

    int port(int listener) {
        return server.boundAddresses().get(listener).getPort();
    }

    @Override
    public void close() {
        server.shutdown(Duration.ZERO);
    }

    /** One GET on a new connection. */
    static RawClient.Response get(int port, String path) throws IOException {
        try (RawClient c = RawClient.connect(port)) {
            return c.send("GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").read();
        }
    }

    /** One GET on an open keep-alive connection. */
    static RawClient.Response get(RawClient c, String path) throws IOException {
        return c.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n").read();
    }

    /**
     * An upstream: {@code /stream?n=N&ms=M} streams N chunks of "chunk-i\n" M ms apart; anything else is answered
     * {@code up:<path>} at once, keeping the connection open.
     */
    static TestUpstream upstream() throws IOException {
        return TestUpstream.start((req, conn) -> {
            if (req.target.startsWith("/stream")) {
                Map<String, String> q = query(req.target);
                int n = Integer.parseInt(q.getOrDefault("n", "10"));
                long ms = Long.parseLong(q.getOrDefault("ms", "100"));
                conn.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
                for (int i = 0; i < n; i++) {
                    String data = "chunk-" + i + "\n";
                    conn.write(Integer.toHexString(data.length()) + "\r\n" + data + "\r\n");
                    Thread.sleep(ms);
                }
                conn.write("0\r\n\r\n");
                return true;
            }
            String body = "up:" + req.target;
            conn.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length() + "\r\n\r\n"
                    + body);
            return true;
        });
    }

    /** What the chunks of a complete stream of {@code n} are. */
    static String streamBody(int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append("chunk-").append(i).append('\n');
        }
        return sb.toString();
    }

    private static Map<String, String> query(String target) {
        Map<String, String> out = new java.util.HashMap<>();
        int q = target.indexOf('?');
        if (q >= 0) {
            for (String kv : target.substring(q + 1).split("&")) {
                int eq = kv.indexOf('=');
                out.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return out;
    }

    /**
     * A streamed response read as it arrives on its own thread: the raw bytes after the head, when the last one
     * came, and whether the stream ended properly (the terminating chunk) or was cut.
     */
    static final class Stream implements AutoCloseable {
        private final Socket socket;
        private final Thread reader;
        private final java.io.ByteArrayOutputStream raw = new java.io.ByteArrayOutputStream();
        volatile long endedAt;
        volatile int status;
        volatile Throwable failure;

        Stream(int port, String path) throws IOException {
            socket = new Socket();
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            reader = Thread.ofPlatform().daemon().start(this::read);
        }

        private void read() {
            try (InputStream in = socket.getInputStream()) {
                byte[] buf = new byte[4096];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    synchronized (raw) {
                        raw.write(buf, 0, n);
                    }
                }
            } catch (IOException e) {
                failure = e; // a reset counts as the end, like EOF
            } finally {
                endedAt = System.nanoTime();
            }
        }

        /** Bytes received so far (head included). */
        int received() {
            synchronized (raw) {
                return raw.size();
            }
        }

        boolean ended() {
            return !reader.isAlive();
        }

        void await(Duration timeout) throws InterruptedException {
            reader.join(timeout.toMillis());
            if (reader.isAlive()) {
                throw new AssertionError("the stream did not end within " + timeout);
            }
        }

        String text() {
            synchronized (raw) {
                return raw.toString(StandardCharsets.ISO_8859_1);
            }
        }

        /** The body with the chunk framing removed; complete only if the terminating chunk came. */
        String body() {
            String t = text();
            int start = t.indexOf("\r\n\r\n");
            if (start < 0) {
                return "";
            }
            StringBuilder out = new StringBuilder();
            int i = start + 4;
            while (i < t.length()) {
                int eol = t.indexOf("\r\n", i);
                if (eol < 0) {
                    break;
                }
                int size = Integer.parseInt(t.substring(i, eol).trim(), 16);
                if (size == 0 || eol + 2 + size > t.length()) {
                    break;
                }
                out.append(t, eol + 2, eol + 2 + size);
                i = eol + 2 + size + 2;
            }
            return out.toString();
        }

        boolean complete() {
            return text().endsWith("\r\n0\r\n\r\n");
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
