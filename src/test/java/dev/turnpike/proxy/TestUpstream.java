package dev.turnpike.proxy;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small blocking HTTP/1.1 server on loopback for proxy tests: plain sockets (so it shares no buffers with
 * Netty), one virtual thread per connection, a handler per request that may echo, stream, stall or close.
 * It records every request head it receives and counts connections. Public for the reload tests, which proxy to it
 * from other packages.
 */
public final class TestUpstream implements AutoCloseable {

    @FunctionalInterface
    public interface Handler {
        /** Answers {@code req} on {@code conn}; returns false to close the connection afterwards. */
        boolean handle(Request req, Conn conn) throws Exception;
    }

    public static final class Conn {
        public final Socket socket;
        public final OutputStream out;
        public final int index;
        int requests;

        Conn(Socket socket, int index) throws IOException {
            this.socket = socket;
            this.out = socket.getOutputStream();
            this.index = index;
        }

        public void write(String ascii) throws IOException {
            out.write(ascii.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }
    }

    public static final class Request {
        public final String method;
        public final String target;
        final String version;
        final List<String[]> headers;
        final int connection;
        final InputStream body;
        volatile List<String[]> trailers = List.of();
        volatile byte[] bodyBytes;

        Request(String method, String target, String version, List<String[]> headers, int connection, InputStream in) {
            this.method = method;
            this.target = target;
            this.version = version;
            this.headers = headers;
            this.connection = connection;
            this.body = bodyStream(in, this);
        }

        public String header(String name) {
            for (String[] h : headers) {
                if (h[0].equalsIgnoreCase(name)) {
                    return h[1];
                }
            }
            return null;
        }

        List<String> headers(String name) {
            List<String> out = new ArrayList<>();
            for (String[] h : headers) {
                if (h[0].equalsIgnoreCase(name)) {
                    out.add(h[1]);
                }
            }
            return out;
        }

        boolean hasHeader(String name) {
            return header(name) != null;
        }

        public byte[] readBody() throws IOException {
            if (bodyBytes == null) {
                bodyBytes = body.readAllBytes();
            }
            return bodyBytes;
        }

        String bodyText() throws IOException {
            return new String(readBody(), StandardCharsets.UTF_8);
        }

        String trailer(String name) {
            for (String[] h : trailers) {
                if (h[0].equalsIgnoreCase(name)) {
                    return h[1];
                }
            }
            return null;
        }
    }

    private final ServerSocket server;
    private final Handler handler;
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    public final AtomicInteger connections = new AtomicInteger();
    public final AtomicInteger openConnections = new AtomicInteger();
    final BlockingQueue<Request> requests = new LinkedBlockingQueue<>();
    /** Connection indexes in the order their sockets were closed (by either side) as seen by the server. */
    final BlockingQueue<Integer> closed = new LinkedBlockingQueue<>();

    private TestUpstream(Handler handler) throws IOException {
        this.handler = handler;
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        threads.execute(this::acceptLoop);
    }

    public static TestUpstream start(Handler handler) throws IOException {
        return new TestUpstream(handler);
    }

    public int port() {
        return server.getLocalPort();
    }

    public String url() {
        return "http://127.0.0.1:" + port();
    }

    Request nextRequest() throws InterruptedException {
        Request r = requests.poll(5, TimeUnit.SECONDS);
        if (r == null) {
            throw new AssertionError("the upstream received no request");
        }
        return r;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                s.setTcpNoDelay(true);
                sockets.add(s);
                int index = connections.incrementAndGet();
                openConnections.incrementAndGet();
                threads.execute(() -> serve(s, index));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s, int index) {
        try (s) {
            Conn conn = new Conn(s, index);
            InputStream in = new BufferedInputStream(s.getInputStream(), 64 * 1024);
            while (true) {
                String line = readLine(in);
                if (line == null) {
                    return;
                }
                if (line.isEmpty()) {
                    continue;
                }
                String[] parts = line.split(" ", 3);
                List<String[]> headers = readFields(in);
                Request req = new Request(parts[0], parts[1], parts.length > 2 ? parts[2] : "", headers, index, in);
                requests.add(req);
                conn.requests++;
                boolean keep = handler.handle(req, conn);
                if (!keep || s.isClosed()) {
                    return;
                }
                req.body.transferTo(OutputStream.nullOutputStream());
            }
        } catch (Exception e) {
            // the peer went away or the handler closed the socket
        } finally {
            openConnections.decrementAndGet();
            closed.add(index);
        }
    }

    private static InputStream bodyStream(InputStream in, Request req) {
        String te = req.header("transfer-encoding");
        if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
            return new ChunkedIn(in, req);
        }
        String cl = req.header("content-length");
        long length = cl == null ? 0 : Long.parseLong(cl.trim());
        return new FixedIn(in, length);
    }

    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1) {
            if (b == '\n') {
                byte[] bytes = line.toByteArray();
                int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, len, StandardCharsets.ISO_8859_1);
            }
            line.write(b);
        }
        return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
    }

    static List<String[]> readFields(InputStream in) throws IOException {
        List<String[]> fields = new ArrayList<>();
        String line;
        while ((line = readLine(in)) != null && !line.isEmpty()) {
            int colon = line.indexOf(':');
            fields.add(new String[] {line.substring(0, colon).trim(), line.substring(colon + 1).trim()});
        }
        return fields;
    }

    private static final class FixedIn extends InputStream {
        private final InputStream in;
        private long remaining;

        FixedIn(InputStream in, long length) {
            this.in = in;
            this.remaining = length;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, remaining));
            if (n < 0) {
                throw new IOException("connection closed mid-body");
            }
            remaining -= n;
            return n;
        }
    }

    private static final class ChunkedIn extends InputStream {
        private final InputStream in;
        private final Request req;
        private long chunkLeft;
        private boolean done;

        ChunkedIn(InputStream in, Request req) {
            this.in = in;
            this.req = req;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) {
                return -1;
            }
            if (chunkLeft == 0) {
                String size = readLine(in);
                if (size == null) {
                    throw new IOException("connection closed mid-body");
                }
                int semi = size.indexOf(';');
                chunkLeft = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                if (chunkLeft == 0) {
                    req.trailers = readFields(in);
                    done = true;
                    return -1;
                }
            }
            int n = in.read(b, off, (int) Math.min(len, chunkLeft));
            if (n < 0) {
                throw new IOException("connection closed mid-body");
            }
            chunkLeft -= n;
            if (chunkLeft == 0) {
                readLine(in);
            }
            return n;
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        threads.shutdownNow();
    }
}
