package dev.turnpike.proxy;

import dev.turnpike.testing.H2Client;
import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Long-lived HTTP responses through a cluster: Server-Sent Events and other streams reach the client event by event
 * and outlive the cluster's total timeout, over HTTP/1.1 and HTTP/2, and a long-polling route waits longer than its cluster's first-byte
 * timeout without stretching it for the cluster's other routes.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StreamingProxyTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closeables);
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    TestUpstream upstream(TestUpstream.Handler h) throws IOException {
        TestUpstream u = TestUpstream.start(h);
        closeables.add(u);
        return u;
    }

    /** A cluster with a short total timeout, and routes /events (given proxy extras) and /other (plain). */
    TestServer turnpike(TestUpstream up, String clusterTimeouts, String eventsRoute) throws Exception {
        String yaml = "listen: \"127.0.0.1:0\"\n"
                + "server: {event_loops: 1}\n"
                + "access_log: off\n"
                + "clusters:\n"
                + "  feed:\n"
                + "    endpoints: [127.0.0.1:" + up.port() + "]\n"
                + "    timeouts: " + clusterTimeouts + "\n"
                + "sites:\n"
                + "  - routes:\n"
                + "      - path: /events*\n"
                + "        proxy: {cluster: feed" + eventsRoute + "}\n"
                + "      - path: /*\n"
                + "        proxy: {cluster: feed}\n";
        TestServer s = TestServer.start(yaml);
        closeables.add(s);
        return s;
    }

    RawClient client(TestServer s) throws Exception {
        RawClient c = s.connect();
        closeables.add(c);
        return c;
    }

    /** Reads from {@code in} until {@code text} has arrived; fails after {@code millis}. */
    static String readUntil(InputStream in, String text, ByteArrayOutputStream seen) throws IOException {
        while (!seen.toString(StandardCharsets.UTF_8).contains(text)) {
            int b = in.read();
            if (b < 0) {
                throw new AssertionError("stream ended before '" + text + "': " + seen);
            }
            seen.write(b);
        }
        return seen.toString(StandardCharsets.UTF_8);
    }

    /**
     * An upstream that sends {@code events} events, each only after the test confirmed the previous one arrived:
     * a proxy that held an event back (for a buffer, a batch or a flush at the end) would stall it for good.
     */
    record Feed(TestUpstream upstream, Semaphore received, List<Long> sentAt) {}

    Feed feed(int events, String contentType, String extraHeaders, long pauseMillis) throws IOException {
        Semaphore received = new Semaphore(0);
        List<Long> sentAt = Collections.synchronizedList(new ArrayList<>());
        TestUpstream up = upstream((req, c) -> {
            c.write("HTTP/1.1 200 OK\r\nContent-Type: " + contentType + "\r\nTransfer-Encoding: chunked\r\n"
                    + extraHeaders + "\r\n");
            for (int i = 0; i < events; i++) {
                if (i > 0 && !received.tryAcquire(10, TimeUnit.SECONDS)) {
                    return false; // the client never saw the previous event
                }
                if (pauseMillis > 0) {
                    Thread.sleep(pauseMillis);
                }
                String event = "id: " + i + "\ndata: event " + i + "\n\n";
                sentAt.add(System.nanoTime());
                c.write(Integer.toHexString(event.length()) + "\r\n" + event + "\r\n");
            }
            c.write("0\r\n\r\n");
            return true;
        });
        return new Feed(up, received, sentAt);
    }

    /** Reads the stream's events one by one, confirming each to the upstream; returns each one's delay. */
    static List<Long> consume(RawClient c, Feed feed, int events) throws IOException {
        List<Long> delays = new ArrayList<>();
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        for (int i = 0; i < events; i++) {
            readUntil(c.input(), "data: event " + i + "\n\n", seen);
            delays.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - feed.sentAt().get(i)));
            feed.received().release();
        }
        return delays;
    }

    @Test
    void serverSentEventsArriveOneByOneAndOutliveTheTotalTimeout() throws Exception {
        // 5 events 300 ms apart: the stream lasts well past the cluster's 1 s total timeout
        Feed feed = feed(5, "text/event-stream; charset=utf-8", "", 300);
        TestServer s = turnpike(feed.upstream(), "{total: 1s}", "");
        RawClient c = client(s);
        c.send("GET /events HTTP/1.1\r\nHost: feed.test\r\nAccept: text/event-stream\r\n\r\n");
        RawClient.Response head = c.readHead();
        assertThat(head.status).isEqualTo(200);
        assertThat(head.header("Content-Type")).startsWith("text/event-stream");
        long start = System.nanoTime();
        List<Long> delays = consume(c, feed, 5);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThan(1000);
        // each event reached the client while the upstream waited for the confirmation: none was held back
        assertThat(delays).allSatisfy(d -> assertThat(d).isLessThan(2000));
        // and the stream ends normally, the connection still usable
        readUntil(c.input(), "0\r\n\r\n", new ByteArrayOutputStream());
    }

    /** {@link #consume} for an HTTP/2 stream: its DATA so far, as text, polled until each event is in it. */
    static List<Long> consume(Supplier<String> body, Feed feed, int events) throws InterruptedException {
        List<Long> delays = new ArrayList<>();
        for (int i = 0; i < events; i++) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!body.get().contains("data: event " + i + "\n\n")) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("event " + i + " did not arrive; the stream so far: " + body.get());
                }
                Thread.sleep(2);
            }
            delays.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - feed.sentAt().get(i)));
            feed.received().release();
        }
        return delays;
    }

    @Test
    void serverSentEventsOverHttp2ArriveOneByOneAndOutliveTheTotalTimeout() throws Exception {
        Feed feed = feed(5, "text/event-stream", "", 300);
        TestServer s = turnpike(feed.upstream(), "{total: 1s}", "");
        H2Client c = H2Client.connect(s.port());
        closeables.add(c);
        int id = c.send(H2Client.request("GET", "/events").add("accept", "text/event-stream"), true);
        H2Client.Stream stream = c.stream(id);
        long start = System.nanoTime();
        List<Long> delays = consume(stream::bodyText, feed, 5);
        assertThat(stream.status()).isEqualTo(200);
        assertThat(stream.header("content-type")).isEqualTo("text/event-stream");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThan(1000);
        assertThat(delays).allSatisfy(d -> assertThat(d).isLessThan(2000));
        // the upstream's last chunk ends the stream cleanly (END_STREAM, no reset)
        assertThat(stream.done.get(10, TimeUnit.SECONDS).resetCode).isNull();
        assertThat(stream.bodyText()).endsWith("data: event 4\n\n");
    }

    @Test
    void overHttp2XAccelBufferingNoStreamsAndAnIdleStreamIsCutByTheRoutesIdleTimeout() throws Exception {
        Feed feed = feed(4, "application/x-ndjson", "X-Accel-Buffering: no\r\n", 0);
        TestServer s = turnpike(feed.upstream(), "{total: 1s}", ", timeouts: {idle: 500ms}");
        H2Client c = H2Client.connect(s.port());
        closeables.add(c);
        H2Client.Stream stream = c.stream(c.get("/events"));
        consume(stream::bodyText, feed, 2);
        assertThat(stream.header("x-accel-buffering")).isNull();
        // the upstream now waits for a confirmation that never comes: 500 ms of silence cut the stream, which the
        // client sees reset (a response that cannot be completed), while the connection goes on
        long start = System.nanoTime();
        H2Client.Stream cut = stream.done.get(5, TimeUnit.SECONDS);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(300L, 3000L);
        assertThat(cut.resetCode).isNotNull();
        assertThat(cut.bodyText()).contains("data: event 2\n\n").doesNotContain("event 3");
        c.ping(42);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (c.pingAcks.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(c.pingAcks.get()).as("the connection is still open").isEqualTo(1);
        assertThat(c.goAway).isNotDone();
    }

    @Test
    void xAccelBufferingNoMarksAStreamAndIsNotPassedOn() throws Exception {
        Feed feed = feed(4, "application/x-ndjson", "X-Accel-Buffering: no\r\n", 400);
        TestServer s = turnpike(feed.upstream(), "{total: 1s}", "");
        RawClient c = client(s);
        c.send("GET /events HTTP/1.1\r\nHost: feed.test\r\n\r\n");
        RawClient.Response head = c.readHead();
        assertThat(head.status).isEqualTo(200);
        assertThat(head.header("X-Accel-Buffering")).isNull();
        assertThat(consume(c, feed, 4)).allSatisfy(d -> assertThat(d).isLessThan(2000));
    }

    @Test
    void aRouteMarkedStreamingStreamsAnyResponse() throws Exception {
        Feed feed = feed(4, "application/octet-stream", "", 400);
        TestServer s = turnpike(feed.upstream(), "{total: 1s}", ", streaming: true");
        RawClient c = client(s);
        c.send("GET /events HTTP/1.1\r\nHost: feed.test\r\n\r\n");
        assertThat(c.readHead().status).isEqualTo(200);
        assertThat(consume(c, feed, 4)).allSatisfy(d -> assertThat(d).isLessThan(2000));
    }

    @Test
    void theTotalTimeoutStillCutsAResponseThatIsNotAStream() throws Exception {
        Feed feed = feed(4, "application/octet-stream", "", 400);
        TestServer s = turnpike(feed.upstream(), "{total: 1s}", "");
        RawClient c = client(s);
        c.send("GET /other HTTP/1.1\r\nHost: feed.test\r\n\r\n");
        assertThat(c.readHead().status).isEqualTo(200);
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        readUntil(c.input(), "data: event 0", seen);
        feed.received().release();
        // cut at the 1 s total: the connection closes before the last event
        assertThat(new String(c.timeout(5000).readToEnd(), StandardCharsets.UTF_8)).doesNotContain("event 3");
    }

    @Test
    void aStreamIsCutByTheRoutesIdleTimeout() throws Exception {
        Feed feed = feed(3, "text/event-stream", "", 0);
        TestServer s = turnpike(feed.upstream(), "{total: 1s}", ", timeouts: {idle: 500ms}");
        RawClient c = client(s);
        c.send("GET /events HTTP/1.1\r\nHost: feed.test\r\n\r\n");
        assertThat(c.readHead().status).isEqualTo(200);
        readUntil(c.input(), "data: event 0\n\n\r\n", new ByteArrayOutputStream());
        // the upstream waits for a confirmation that never comes: after 500 ms of silence the stream is cut
        long start = System.nanoTime();
        assertThat(c.timeout(5000).readToEnd()).as("nothing more, then the end").isEmpty();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(300L, 3000L);
    }

    @Test
    void aLongPollingRouteWaitsLongerThanItsClusterAllows() throws Exception {
        TestUpstream up = upstream((req, c) -> {
            Thread.sleep(1500); // the event the poll waits for
            ProxyHandlerTest.respond(c, 200, "", "news");
            return true;
        });
        TestServer s = turnpike(up, "{first_byte: 500ms}", ", timeouts: {first_byte: 5m}");
        long start = System.nanoTime();
        RawClient.Response r = client(s).send("GET /events/poll HTTP/1.1\r\nHost: feed.test\r\n\r\n").read();
        assertThat(r.status).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("news");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThanOrEqualTo(1400);
        // the cluster's other routes keep its 500 ms
        RawClient.Response other = client(s).send("GET /other HTTP/1.1\r\nHost: feed.test\r\n\r\n").read();
        assertThat(other.status).isEqualTo(504);
    }
}
