package dev.turnpike.server;

import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.RawClient.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Listener 0 allows 2 connections per client; listener 1 allows 3 connections in all. */
class ConnectionLimitsIT {
    static Fixture server;

    @BeforeAll
    static void start() throws Exception {
        server = Fixture.start("""
                listeners:
                  - name: per-client
                    address: "127.0.0.1:0"
                    limits: {max_connections_per_client: 2}
                  - name: listener
                    address: "127.0.0.1:0"
                    limits: {max_connections: 3}
                access_log: off
                sites: [{routes: [{respond: "ok"}]}]
                """);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static Response get(RawClient c) throws IOException {
        return c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n").read();
    }

    static void assertRefused(RawClient c, int status) throws IOException {
        Response r = c.read();
        assertThat(r.status).isEqualTo(status);
        assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
        assertThat(r.header("Retry-After")).isNotNull();
        assertThat(c.isClosedByPeer(2000)).isTrue();
    }

    /** The server counts a closed connection out when it sees the close: retry briefly. */
    static Response getOnNewConnection(int port) throws Exception {
        long deadline = System.nanoTime() + 3_000_000_000L;
        while (true) {
            try (RawClient c = RawClient.connect(port)) {
                Response r = get(c);
                if (r.status == 200 || System.nanoTime() > deadline) {
                    return r;
                }
            }
            Thread.sleep(20);
        }
    }

    @Test
    void theThirdConnectionFromOneClientGets429WhileTheFirstTwoStillWork() throws Exception {
        int port = server.port(0);
        try (RawClient c2 = RawClient.connect(port)) {
            try (RawClient c1 = RawClient.connect(port)) {
                assertThat(get(c1).status).isEqualTo(200);
                assertThat(get(c2).status).isEqualTo(200);
                try (RawClient c3 = RawClient.connect(port)) {
                    assertRefused(c3, 429);
                }
                assertThat(get(c1).bodyText()).isEqualTo("ok");
                assertThat(get(c2).bodyText()).isEqualTo("ok");
            }
            assertThat(getOnNewConnection(port).status).isEqualTo(200);
        }
        // All closed: both slots are free again.
        Thread.sleep(100);
        try (RawClient a = RawClient.connect(port); RawClient b = RawClient.connect(port)) {
            assertThat(get(a).status).isEqualTo(200);
            assertThat(get(b).status).isEqualTo(200);
        }
    }

    @Test
    void connectionsOverTheListenerLimitGet503() throws Exception {
        int port = server.port(1);
        List<RawClient> open = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                RawClient c = RawClient.connect(port);
                open.add(c);
                assertThat(get(c).status).isEqualTo(200);
            }
            try (RawClient extra = RawClient.connect(port)) {
                assertRefused(extra, 503);
            }
            for (RawClient c : open) {
                assertThat(get(c).status).isEqualTo(200);
            }
            open.removeFirst().close();
            assertThat(getOnNewConnection(port).status).isEqualTo(200);
        } finally {
            for (RawClient c : open) {
                c.close();
            }
        }
    }

    @Test
    void refusedConnectionsDoNotLeakSlots() throws Exception {
        int port = server.port(0);
        try (RawClient c1 = RawClient.connect(port); RawClient c2 = RawClient.connect(port)) {
            assertThat(get(c1).status).isEqualTo(200);
            assertThat(get(c2).status).isEqualTo(200);
            for (int i = 0; i < 20; i++) {
                try (RawClient refused = RawClient.connect(port)) {
                    assertRefused(refused, 429);
                }
            }
        }
        Thread.sleep(100);
        try (RawClient a = RawClient.connect(port); RawClient b = RawClient.connect(port)) {
            assertThat(get(a).status).isEqualTo(200);
            assertThat(get(b).status).isEqualTo(200);
        }
    }
}
