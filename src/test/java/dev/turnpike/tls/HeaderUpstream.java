package dev.turnpike.tls;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** An upstream that records the headers of every request (bodyless requests only) and answers 200 "ok". */
final class HeaderUpstream implements AutoCloseable {
    private final ServerSocket socket;
    private final BlockingQueue<HttpHeaders> received = new LinkedBlockingQueue<>();

    HeaderUpstream() throws IOException {
        socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!socket.isClosed()) {
                try {
                    Socket s = socket.accept();
                    Thread.ofVirtual().start(() -> serve(s));
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    String url() {
        return "http://127.0.0.1:" + socket.getLocalPort();
    }

    /** The headers of the next request that arrives (waits up to 10 s). */
    HttpHeaders next() throws InterruptedException {
        HttpHeaders h = received.poll(10, TimeUnit.SECONDS);
        if (h == null) {
            throw new AssertionError("no request reached the upstream");
        }
        return h;
    }

    private void serve(Socket s) {
        try (s; BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
                StandardCharsets.ISO_8859_1))) {
            OutputStream out = s.getOutputStream();
            while (true) {
                String line = in.readLine();
                if (line == null) {
                    return;
                }
                HttpHeaders h = new DefaultHttpHeaders();
                while ((line = in.readLine()) != null && !line.isEmpty()) {
                    int colon = line.indexOf(':');
                    h.add(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
                }
                received.add(h);
                out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        } catch (IOException e) {
            // connection closed
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
