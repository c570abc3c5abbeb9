package dev.turnpike.http1;

import dev.turnpike.http.Handler;
import dev.turnpike.http.RequestBodyException;
import dev.turnpike.server.Fixture;
import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.RawClient.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Map;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/** Size limits: each is answered with its status, the connection is closed, and the server stays healthy. */
class Http1LimitsIT {
    static Fixture server;
    static Fixture.Echo echo = new Fixture.Echo();

    @BeforeAll
    static void start() throws Exception {
        server = Fixture.start("""
                listeners:
                  - address: "127.0.0.1:0"
                    limits: {max_request_line: 1KiB, max_header_size: 2KiB, max_header_count: 10, max_body_size: 1KiB}
                access_log: off
                sites:
                  - routes:
                      - {name: echo, path: /echo, respond: "replaced"}
                      - {name: hello, respond: "hello"}
                """, Map.<String, Supplier<Handler>>of("echo", () -> echo));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @AfterEach
    void serverStillHealthy() throws Exception {
        try (RawClient c = server.connect()) {
            assertThat(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n").read().bodyText()).isEqualTo("hello");
        }
    }

    static void assertRejectedAndClosed(RawClient c, int status) throws IOException {
        Response r = c.read();
        assertThat(r.status).isEqualTo(status);
        assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
        assertThat(c.isClosedByPeer(2000)).isTrue();
    }

    @Test
    void requestLineAtTheLimitIsServedAndOneByteMoreIs414() throws Exception {
        String prefix = "GET /";
        String suffix = " HTTP/1.1";
        String atLimit = prefix + "a".repeat(1024 - prefix.length() - suffix.length()) + suffix;
        assertThat(atLimit).hasSize(1024);
        try (RawClient c = server.connect()) {
            assertThat(c.send(atLimit + "\r\nHost: a\r\n\r\n").read().status).isEqualTo(200);
        }
        try (RawClient c = server.connect()) {
            c.send(prefix + "a".repeat(1025 - prefix.length() - suffix.length()) + suffix + "\r\nHost: a\r\n\r\n");
            assertRejectedAndClosed(c, 414);
        }
        try (RawClient c = server.connect()) {
            c.send("GET /" + "a".repeat(5000)); // no line end yet: rejected as soon as it is too long
            assertRejectedAndClosed(c, 414);
        }
    }

    @Test
    void headerSectionTooLargeIs431() throws Exception {
        try (RawClient c = server.connect()) {
            c.send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + "b".repeat(2100) + "\r\n\r\n");
            assertRejectedAndClosed(c, 431);
        }
        try (RawClient c = server.connect()) {
            StringBuilder sb = new StringBuilder("GET / HTTP/1.1\r\nHost: a\r\n");
            for (int i = 0; i < 8; i++) {
                sb.append("X-H").append(i).append(": ").append("v".repeat(300)).append("\r\n");
            }
            c.send(sb.append("\r\n").toString());
            assertRejectedAndClosed(c, 431);
        }
    }

    @Test
    void tooManyHeadersIs431() throws Exception {
        StringBuilder ok = new StringBuilder("GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; i < 9; i++) {
            ok.append("X-H").append(i).append(": v\r\n");
        }
        try (RawClient c = server.connect()) {
            assertThat(c.send(ok + "\r\n").read().status).isEqualTo(200);
        }
        try (RawClient c = server.connect()) {
            c.send(ok + "X-One-Too-Many: v\r\n\r\n");
            assertRejectedAndClosed(c, 431);
        }
    }

    @Test
    void contentLengthAboveTheLimitIs413BeforeTheBodyIsSent() throws Exception {
        for (String path : new String[] {"/", "/echo"}) {
            try (RawClient c = server.connect()) {
                c.send("POST " + path + " HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n\r\n");
                assertRejectedAndClosed(c, 413);
            }
        }
        try (RawClient c = server.connect()) {
            Response r = c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1024\r\n\r\n" + "x".repeat(1024)).read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.body).hasSize(5 + 1024);
        }
    }

    @Test
    void chunkedBodyOverTheLimitIs413MidStreamForAReader() throws Exception {
        echo.errors.clear();
        try (RawClient c = server.connect()) {
            c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" + "x".repeat(600) + "\r\n");
            Thread.sleep(100);
            assertThat(c.isClosedByPeer(50)).isFalse();
            sendIgnoringReset(c, "258\r\n" + "y".repeat(600) + "\r\n0\r\n\r\n");
            assertRejectedAndClosed(c, 413);
        }
        assertThat(echo.errors).singleElement().isInstanceOfSatisfying(RequestBodyException.class,
                e -> assertThat(e.status().code()).isEqualTo(413));
    }

    @Test
    void chunkedBodyOverTheLimitInOneWriteIs413EvenForAHandlerThatDoesNotRead() throws Exception {
        try (RawClient c = server.connect()) {
            c.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + ("258\r\n" + "x".repeat(600) + "\r\n").repeat(2) + "0\r\n\r\n");
            assertRejectedAndClosed(c, 413);
        }
    }

    @Test
    void chunkedBodyOverTheLimitAfterTheResponseClosesTheConnection() throws Exception {
        try (RawClient c = server.connect()) {
            c.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" + "x".repeat(600) + "\r\n");
            Response r = c.read();
            assertThat(r.status).isEqualTo(200);
            sendIgnoringReset(c, "258\r\n" + "y".repeat(600) + "\r\n0\r\n\r\n");
            assertThat(c.isClosedByPeer(2000)).isTrue();
        }
    }

    @Test
    void aClientThatKeepsSendingItsOversizedBodyStillReads413() throws Exception {
        for (int i = 0; i < 20; i++) {
            try (RawClient c = server.connect()) {
                c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n");
                byte[] chunk = new byte[64 * 1024];
                Thread writer = Thread.ofPlatform().daemon(true).start(() -> {
                    try {
                        for (int n = 0; n < 32; n++) {
                            c.send(chunk);
                        }
                    } catch (IOException e) {
                        // the server closed after answering
                    }
                });
                Thread.sleep(20);
                Response r = c.read();
                assertThat(r.status).isEqualTo(413);
                assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
                writer.join(5000);
            }
        }
    }

    @Test
    void aSingleThreadedClientThatWritesItsWholeOversizedBodyFirstStillReads413() throws Exception {
        try (RawClient c = server.connect()) {
            c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2097152\r\n\r\n");
            Thread.sleep(50); // the server has answered and closed by now
            byte[] chunk = new byte[64 * 1024];
            for (int n = 0; n < 32; n++) {
                c.send(chunk); // fails with "Connection reset" or "Broken pipe" unless the server lingers
            }
            Response r = c.read();
            assertThat(r.status).isEqualTo(413);
            assertThat(c.isClosedByPeer(3000)).isTrue();
        }
    }

    static void sendIgnoringReset(RawClient c, String s) {
        try {
            c.send(s);
        } catch (IOException e) {
            // the server may already have closed
        }
    }
}
