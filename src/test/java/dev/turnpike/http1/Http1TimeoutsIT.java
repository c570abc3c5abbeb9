package dev.turnpike.http1;

import dev.turnpike.http.Exchange;
import dev.turnpike.http.Handler;
import dev.turnpike.http.RequestBodyException;
import dev.turnpike.server.Fixture;
import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.RawClient.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/** request_head 400ms, request_body 400ms, keep_alive 1200ms. */
class Http1TimeoutsIT {
    static final long HEAD = 400;
    static final long BODY = 400;
    static final long KEEP_ALIVE = 1200;

    static Fixture server;
    static Fixture.Echo echo = new Fixture.Echo();

    @BeforeAll
    static void start() throws Exception {
        server = Fixture.start("""
                listeners:
                  - address: "127.0.0.1:0"
                    timeouts: {request_head: 400ms, request_body: 400ms, keep_alive: 1200ms}
                access_log: off
                sites:
                  - routes:
                      - {name: echo, path: /echo, respond: "replaced"}
                      - {name: slow, path: /slow, respond: "replaced"}
                      - {name: paused, path: /paused, respond: "replaced"}
                      - {name: hello, respond: "hello"}
                """, Map.<String, Supplier<Handler>>of("echo", () -> echo, "slow", () -> new Fixture.Slow(1000),
                "paused", PausingEcho::new));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    /** Reads the body like a consumer that applies back-pressure for longer than request_body. */
    static final class PausingEcho implements Handler {
        @Override
        public void handle(Exchange exchange) {
            exchange.pauseBody();
            exchange.eventLoop().schedule(() -> new Fixture.Echo().handle(exchange), 3 * BODY, TimeUnit.MILLISECONDS);
            exchange.eventLoop().schedule(exchange::resumeBody, 3 * BODY, TimeUnit.MILLISECONDS);
        }
    }

    @Test
    void aBodyPausedByItsConsumerDoesNotTimeOut() throws Exception {
        try (RawClient c = server.connect()) {
            c.send("POST /paused HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234");
            Thread.sleep(2 * BODY);
            c.send("56789");
            Response r = c.read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("echo:0123456789");
        }
    }

    @Test
    void slowLorisGets408AndIsClosed() throws Exception {
        try (RawClient c = server.connect()) {
            long start = System.nanoTime();
            c.send("GET / HTTP/1.1\r\nHost: a\r\nX-Half: ");
            Response r = c.read();
            assertThat(r.status).isEqualTo(408);
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(millisSince(start)).isBetween(HEAD - 50, HEAD + 800);
            assertThat(c.isClosedByPeer(2000)).isTrue();
        }
    }

    @Test
    void drippingAHeadDoesNotExtendItsDeadline() throws Exception {
        try (RawClient c = server.connect()) {
            long start = System.nanoTime();
            Thread dripper = Thread.ofPlatform().daemon(true).start(() -> {
                byte[] head = ("GET / HTTP/1.1\r\nHost: a\r\nX-Drip: " + "d".repeat(100)).getBytes();
                try {
                    for (byte b : head) {
                        c.send(new byte[] {b});
                        Thread.sleep(100);
                    }
                } catch (IOException | InterruptedException e) {
                    // closed by the server: expected
                }
            });
            Response r = c.read();
            assertThat(r.status).isEqualTo(408);
            assertThat(millisSince(start)).isBetween(HEAD - 50, HEAD + 800);
            assertThat(c.isClosedByPeer(2000)).isTrue();
            dripper.interrupt();
        }
    }

    @Test
    void aSlowHeadOnAKeepAliveConnectionGets408AtTheHeadDeadlineNotTheKeepAliveOne() throws Exception {
        try (RawClient c = server.connect()) {
            assertThat(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n").read().status).isEqualTo(200);
            Thread.sleep(100);
            long start = System.nanoTime();
            c.send("GET / HTTP/1.1\r\nHost: a\r\n");
            Response r = c.read();
            assertThat(r.status).isEqualTo(408);
            assertThat(millisSince(start)).isBetween(HEAD - 50, KEEP_ALIVE - 200);
        }
    }

    @Test
    void aStalledBodyGets408ForAHandlerReadingIt() throws Exception {
        echo.errors.clear();
        try (RawClient c = server.connect()) {
            long start = System.nanoTime();
            c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
            Response r = c.read();
            assertThat(r.status).isEqualTo(408);
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(millisSince(start)).isBetween(BODY - 50, BODY + 800);
            assertThat(c.isClosedByPeer(2000)).isTrue();
        }
        assertThat(echo.errors).singleElement().isInstanceOfSatisfying(RequestBodyException.class,
                e -> assertThat(e.status().code()).isEqualTo(408));
    }

    @Test
    void aBodyThatKeepsComingIsNotTimedOut() throws Exception {
        try (RawClient c = server.connect()) {
            c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < 6; i++) {
                Thread.sleep(BODY / 2);
                c.send("1\r\n" + i + "\r\n");
            }
            Response r = c.send("0\r\n\r\n").read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("echo:012345");
        }
    }

    @Test
    void aStalledBodyAfterTheResponseClosesTheConnection() throws Exception {
        try (RawClient c = server.connect()) {
            c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
            assertThat(c.read().status).isEqualTo(200);
            long start = System.nanoTime();
            assertThat(c.isClosedByPeer(3000)).isTrue();
            assertThat(millisSince(start)).isLessThan(BODY + 800);
        }
    }

    @Test
    void aSlowHandlerIsNotTimedOut() throws Exception {
        try (RawClient c = server.connect()) {
            Response r = c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo("slow");
        }
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedSilently() throws Exception {
        try (RawClient c = server.connect()) {
            assertThat(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n").read().status).isEqualTo(200);
            long start = System.nanoTime();
            assertThat(c.isClosedByPeer((int) HEAD)).as("still open well before keep_alive").isFalse();
            assertThat(c.timeout(3000).readToEnd()).isEmpty();
            assertThat(millisSince(start)).isBetween(KEEP_ALIVE - 100, KEEP_ALIVE + 800);
        }
    }

    @Test
    void aConnectionThatSendsNothingIsClosedAfterRequestHead() throws Exception {
        try (RawClient c = server.connect()) {
            long start = System.nanoTime();
            assertThat(c.timeout(3000).readToEnd()).isEmpty();
            assertThat(millisSince(start)).isBetween(HEAD - 50, HEAD + 800);
        }
    }
}
