import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens COUNT keep-alive connections to HOST:PORT, sends one GET PATH on each and reads its whole response
 * (Content-Length framing), then prints "READY n" and holds the connections idle until standard input ends.
 *
 * <pre>java bench/IdleConnections.java HOST PORT COUNT PATH</pre>
 *
 * Source addresses rotate over 127.0.0.1, 127.0.0.2, ... (one per 20,000 connections) so a large COUNT does
 * not run out of ephemeral ports. Connections are opened in batches of 500 so the server's accept backlog is
 * never the limit. Used by bench/run.sh (scenario idle).
 */
public final class IdleConnections {
    private static final int BATCH = 500;
    private static final int PER_SOURCE = 20_000;

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: java IdleConnections.java HOST PORT COUNT PATH");
            System.exit(2);
        }
        InetSocketAddress target = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
        int count = Integer.parseInt(args[2]);
        byte[] request = ("GET " + args[3] + " HTTP/1.1\r\nHost: bench\r\n\r\n").getBytes(StandardCharsets.US_ASCII);

        List<SocketChannel> open = new ArrayList<>(count);
        try (Selector selector = Selector.open()) {
            for (int done = 0; done < count; ) {
                int n = Math.min(BATCH, count - done);
                for (int i = 0; i < n; i++) {
                    int index = done + i;
                    SocketChannel ch = SocketChannel.open();
                    ch.bind(new InetSocketAddress("127.0.0." + (1 + index / PER_SOURCE), 0));
                    ch.connect(target);
                    ch.write(ByteBuffer.wrap(request));
                    ch.configureBlocking(false);
                    ch.register(selector, SelectionKey.OP_READ, new Response());
                    open.add(ch);
                }
                awaitResponses(selector, n);
                done += n;
            }
            System.out.println("READY " + open.size());
            System.out.flush();
            while (System.in.read() >= 0) {
                // hold the connections until the harness closes our standard input
            }
        } finally {
            for (SocketChannel ch : open) {
                ch.close();
            }
        }
    }

    /** Reads until {@code n} responses registered on {@code selector} are complete, then deregisters them. */
    private static void awaitResponses(Selector selector, int n) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        int complete = 0;
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (complete < n) {
            if (System.nanoTime() > deadline) {
                throw new IOException("only " + complete + " of " + n + " responses within 30 s");
            }
            selector.select(1000);
            var it = selector.selectedKeys().iterator();
            while (it.hasNext()) {
                SelectionKey key = it.next();
                it.remove();
                SocketChannel ch = (SocketChannel) key.channel();
                buf.clear();
                int r = ch.read(buf);
                if (r < 0) {
                    throw new IOException("the server closed a connection before its response was complete");
                }
                Response resp = (Response) key.attachment();
                if (resp.add(buf.array(), r)) {
                    key.cancel();
                    complete++;
                }
            }
        }
        selector.selectNow(); // flush the cancelled keys
    }

    /** One response being read: the head up to CRLFCRLF, then Content-Length bytes of body. */
    private static final class Response {
        private final StringBuilder head = new StringBuilder();
        private long bodyLeft = -1;

        boolean add(byte[] data, int len) throws IOException {
            int i = 0;
            while (bodyLeft < 0 && i < len) {
                head.append((char) data[i++]);
                if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
                    String h = head.toString();
                    if (!h.startsWith("HTTP/1.1 200")) {
                        throw new IOException("unexpected response: " + h.lines().findFirst().orElse(""));
                    }
                    bodyLeft = contentLength(h);
                }
            }
            if (bodyLeft >= 0) {
                bodyLeft -= len - i;
            }
            return bodyLeft == 0;
        }

        private static long contentLength(String head) throws IOException {
            for (String line : head.split("\r\n")) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
                    return Long.parseLong(line.substring(colon + 1).trim());
                }
            }
            throw new IOException("no Content-Length in " + head);
        }
    }
}
