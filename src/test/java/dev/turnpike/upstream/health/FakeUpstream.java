package dev.turnpike.upstream.health;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A blocking HTTP/1.1 upstream on 127.0.0.1 for health-check tests: answers every request with the current status
 * and body, or hangs, and records what it saw (accept times, request heads, responses by status, closed probes).
 */
final class FakeUpstream implements AutoCloseable {

    enum Mode {
        /** Answer with {@link #status} and {@link #body}, then close. */
        RESPOND,
        /** Accept, read the request, never answer. */
        HANG
    }

    private final ServerSocket server;
    private final Thread acceptor;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Map<Integer, AtomicInteger> served = new ConcurrentHashMap<>();
    final List<Long> acceptNanos = new CopyOnWriteArrayList<>();
    final List<String> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger accepted = new AtomicInteger();
    /** Connections the client closed while we were hanging. */
    final AtomicInteger closedByClient = new AtomicInteger();
    volatile int status = 200;
    volatile String body = "ok";
    volatile Mode mode = Mode.RESPOND;

    FakeUpstream() throws IOException {
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
        acceptor = Thread.ofPlatform().daemon().name("fake-upstream-" + port()).start(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    int served(int status) {
        AtomicInteger n = served.get(status);
        return n == null ? 0 : n.get();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            acceptNanos.add(System.nanoTime());
            accepted.incrementAndGet();
            open.add(s);
            Thread.ofVirtual().start(() -> serve(s));
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            String head = readHead(in);
            if (head == null) {
                return;
            }
            requests.add(head);
            if (mode == Mode.HANG) {
                // wait for the client to give up
                if (in.read() < 0) {
                    closedByClient.incrementAndGet();
                }
                return;
            }
            int st = status;
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            served.computeIfAbsent(st, k -> new AtomicInteger()).incrementAndGet(); // before the client can see it
            OutputStream out = s.getOutputStream();
            out.write(("HTTP/1.1 " + st + " X\r\nContent-Length: " + b.length + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.write(b);
            out.flush();
            s.shutdownOutput();
            while (in.read() >= 0) {
                // until the client closes
            }
        } catch (SocketException e) {
            // reset by the client, or closed by close()
        } catch (IOException e) {
            // ignore
        } finally {
            open.remove(s);
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        int c;
        while ((c = in.read()) >= 0) {
            head.write(c);
            // \r\n\r\n
            state = (c == '\r') ? (state == 2 ? 3 : 1) : (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
            if (state == 4) {
                return head.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    /** Stops listening (further connects are refused) and closes open connections. */
    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : open) {
            s.close();
        }
        try {
            acceptor.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A loopback port nothing listens on (bound then released). */
    static int refusedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
