package dev.turnpike.upstream.cluster;

import dev.turnpike.config.ClusterConfig;
import dev.turnpike.config.ClusterConfig.Address;
import dev.turnpike.config.ClusterConfig.EndpointConfig;
import dev.turnpike.config.SourcePosition;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Helpers shared by the cluster tests. */
final class ClusterTesting {

    private ClusterTesting() {
    }

    static EndpointConfig tcp(String host, int port) {
        return new EndpointConfig(new Address.Tcp(host, port), 1, false, SourcePosition.NONE);
    }

    static EndpointConfig tcp(String host, int port, int weight, boolean backup) {
        return new EndpointConfig(new Address.Tcp(host, port), weight, backup, SourcePosition.NONE);
    }

    static EndpointConfig unix(String path) {
        return new EndpointConfig(new Address.Unix(Path.of(path)), 1, false, SourcePosition.NONE);
    }

    /** A cluster with defaults everywhere (no health checks, round robin). */
    static Builder cluster(String name, EndpointConfig... endpoints) {
        return new Builder(name, List.of(endpoints));
    }

    /** A fluent way to vary one part of a {@link ClusterConfig}. */
    static final class Builder {
        final String name;
        final List<EndpointConfig> endpoints;
        ClusterConfig.LoadBalancing lb = ClusterConfig.LoadBalancing.defaults();
        Duration slowStart = Duration.ZERO;
        ClusterConfig.Timeouts timeouts = ClusterConfig.Timeouts.defaults();
        ClusterConfig.Health health = ClusterConfig.Health.none();
        ClusterConfig.Retries retries = ClusterConfig.Retries.defaults();
        ClusterConfig.Limits limits = ClusterConfig.Limits.defaults();
        ClusterConfig.Pool pool = ClusterConfig.Pool.defaults();

        Builder(String name, List<EndpointConfig> endpoints) {
            this.name = name;
            this.endpoints = new ArrayList<>(endpoints);
        }

        Builder lb(String policy) {
            lb = new ClusterConfig.LoadBalancing(policy, Optional.empty(), "ring", Optional.empty());
            return this;
        }

        Builder hash(String policy, String key, String table) {
            lb = new ClusterConfig.LoadBalancing(policy, Optional.of(key), table, Optional.empty());
            return this;
        }

        Builder sticky(String cookie, String fallback, Duration maxAge) {
            lb = new ClusterConfig.LoadBalancing("sticky", Optional.empty(), "ring",
                    Optional.of(new ClusterConfig.Sticky(cookie, fallback, Optional.ofNullable(maxAge))));
            return this;
        }

        Builder slowStart(Duration d) {
            slowStart = d;
            return this;
        }

        Builder active(ClusterConfig.ActiveCheck check) {
            health = new ClusterConfig.Health(Optional.of(check), health.passive());
            return this;
        }

        Builder passive(ClusterConfig.OutlierDetection od) {
            health = new ClusterConfig.Health(health.active(), Optional.of(od));
            return this;
        }

        Builder retries(int attempts, Set<String> on) {
            retries = new ClusterConfig.Retries(attempts, on, 20, 3, 64 * 1024);
            return this;
        }

        Builder limits(int connections, int pending, int requests) {
            limits = new ClusterConfig.Limits(connections, pending, requests);
            return this;
        }

        ClusterConfig build() {
            return new ClusterConfig(name, endpoints, lb, slowStart, Duration.ofSeconds(30), pool, timeouts, health,
                    retries, limits, SourcePosition.NONE);
        }
    }

    static ClusterConfig.ActiveCheck httpCheck(Duration interval, int rise, int fall) {
        return new ClusterConfig.ActiveCheck(ClusterConfig.ActiveCheck.Kind.HTTP, "/healthz", Optional.empty(), 200,
                399, Optional.empty(), interval, Duration.ofSeconds(1), rise, fall, 0.0);
    }

    static ClusterConfig.OutlierDetection outlier(int c5xx, int cConnect) {
        return new ClusterConfig.OutlierDetection(c5xx, cConnect, Duration.ofSeconds(30), Duration.ofSeconds(300),
                100);
    }

    /** Polls {@code condition} until it holds; fails after 5 s. */
    static void await(BooleanSupplier condition, Supplier<String> describe) {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out waiting: " + describe.get());
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted");
            }
        }
    }

    /** A tiny blocking HTTP/1.1 server on 127.0.0.1 answering every request with {@link #status}, then closing. */
    static final class TinyUpstream implements AutoCloseable {
        private final ServerSocket server;
        private final Thread acceptor;
        final AtomicInteger requests = new AtomicInteger();
        volatile int status = 200;

        TinyUpstream() throws IOException {
            server = new ServerSocket();
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
            acceptor = Thread.ofPlatform().daemon().name("tiny-upstream-" + port()).start(this::acceptLoop);
        }

        int port() {
            return server.getLocalPort();
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread.ofVirtual().start(() -> serve(s));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                if (!readHead(in)) {
                    return;
                }
                requests.incrementAndGet();
                int st = status;
                OutputStream out = s.getOutputStream();
                out.write(("HTTP/1.1 " + st + " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                        .getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            } catch (IOException e) {
                // the client went away
            }
        }

        private static boolean readHead(InputStream in) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) >= 0) {
                head.write(c);
                byte[] b = head.toByteArray();
                int n = b.length;
                if (n >= 4 && b[n - 4] == '\r' && b[n - 3] == '\n' && b[n - 2] == '\r' && b[n - 1] == '\n') {
                    return true;
                }
            }
            return false;
        }

        @Override
        public void close() throws IOException {
            server.close();
            try {
                acceptor.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
