package dev.turnpike.testing;

import dev.turnpike.config.ConfigLoader;
import dev.turnpike.config.TurnpikeConfig;
import dev.turnpike.server.TurnpikeServer;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A real Turnpike on loopback for a test, started from YAML. Listen on {@code 127.0.0.1:0} to get an
 * ephemeral port; relative paths in the YAML resolve against {@code baseDir}.
 */
public final class TestServer implements AutoCloseable {
    private final TurnpikeServer server;

    private TestServer(TurnpikeServer server) {
        this.server = server;
    }

    public static TestServer start(String yaml, Path baseDir) throws Exception {
        TurnpikeConfig config = ConfigLoader.parse(yaml, "test.yaml", baseDir);
        return new TestServer(TurnpikeServer.start(config));
    }

    public static TestServer start(String yaml) throws Exception {
        return start(yaml, Path.of("").toAbsolutePath());
    }

    public int port() {
        return port(0);
    }

    public int port(int listenerIndex) {
        return server.boundAddresses().get(listenerIndex).getPort();
    }

    public InetSocketAddress address() {
        return server.boundAddresses().get(0);
    }

    public URI uri(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + port() + pathAndQuery);
    }

    public TurnpikeServer server() {
        return server;
    }

    public RawClient connect() throws Exception {
        return RawClient.connect(port());
    }

    /** Graceful shutdown with the given deadline (blocks until done). */
    public void shutdown(Duration timeout) {
        server.shutdown(timeout);
    }

    @Override
    public void close() {
        server.shutdown(Duration.ZERO);
    }
}
