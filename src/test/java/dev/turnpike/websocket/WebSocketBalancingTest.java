package dev.turnpike.websocket;

import dev.turnpike.testing.WsClient;
import dev.turnpike.testing.WsUpstream;

import dev.turnpike.testing.TestServer;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * WebSockets and the balancer: an open WebSocket is load on its endpoint for its whole life (least_connections
 * sees it), consistent hashing keeps a key's WebSockets together, and when an upstream dies its clients are told
 * with a close frame and their reconnections spread over the endpoints left.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WebSocketBalancingTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final ConcurrentLinkedQueue<WsClient> clients = new ConcurrentLinkedQueue<>();

    @AfterEach
    void tearDown() throws Exception {
        for (WsClient c : clients) {
            c.channel.close();
        }
        Collections.reverse(closeables);
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    WsUpstream upstream(String name) throws Exception {
        WsUpstream u = WsUpstream.start(name);
        closeables.add(u);
        return u;
    }

    TestServer turnpike(String loadBalancing, WsUpstream... upstreams) throws Exception {
        String endpoints = String.join(", ", java.util.Arrays.stream(upstreams).map(WsUpstream::address).toList());
        String yaml = "listen: \"127.0.0.1:0\"\n"
                + "server: {event_loops: 2}\n"
                + "access_log: off\n"
                + "clusters:\n"
                + "  chat:\n"
                + "    endpoints: [" + endpoints + "]\n"
                + "    load_balancing: " + loadBalancing + "\n"
                + "    health: { passive: { consecutive_connect_failures: 1, max_ejection_percent: 50 } }\n"
                + "sites:\n"
                + "  - routes:\n"
                + "      - path: /*\n"
                + "        proxy: {cluster: chat}\n";
        TestServer s = TestServer.start(yaml);
        closeables.add(s);
        return s;
    }

    /** Opens {@code n} WebSockets at once; a refused or failed handshake is tried again, as a real client would. */
    List<WsClient> open(TestServer s, List<String> paths) throws Exception {
        List<CompletableFuture<WsClient>> pending = new ArrayList<>();
        for (String path : paths) {
            pending.add(connectWithRetries(s.port(), path, 20));
        }
        List<WsClient> out = new ArrayList<>();
        for (CompletableFuture<WsClient> f : pending) {
            WsClient c = f.get(60, TimeUnit.SECONDS);
            clients.add(c);
            out.add(c);
        }
        return out;
    }

    static CompletableFuture<WsClient> connectWithRetries(int port, String path, int attempts) {
        return WsClient.connectAsync(port, path, new DefaultHttpHeaders(), null).handle((c, e) -> {
            if (e == null) {
                return CompletableFuture.completedFuture(c);
            }
            if (attempts <= 1) {
                return CompletableFuture.<WsClient>failedFuture(e);
            }
            return CompletableFuture.supplyAsync(() -> null,
                    CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS))
                    .thenCompose(x -> connectWithRetries(port, path, attempts - 1));
        }).thenCompose(f -> f);
    }

    /** Which upstream each client is connected to (each upstream answers "name?" with its name). */
    static List<String> names(List<WsClient> cs) throws InterruptedException {
        for (WsClient c : cs) {
            c.channel.writeAndFlush(new io.netty.handler.codec.http.websocketx.TextWebSocketFrame("name?"));
        }
        List<String> out = new ArrayList<>();
        for (WsClient c : cs) {
            out.add(c.nextData().text());
        }
        return out;
    }

    static Map<String, Integer> count(List<String> names) {
        Map<String, Integer> m = new HashMap<>();
        names.forEach(n -> m.merge(n, 1, Integer::sum));
        return m;
    }

    static List<String> paths(int n, String prefix) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add("/ws?user=" + prefix + i);
        }
        return out;
    }

    @Test
    void openWebSocketsAreLoadForLeastConnections() throws Exception {
        WsUpstream a = upstream("a");
        WsUpstream b = upstream("b");
        WsUpstream c = upstream("c");
        TestServer s = turnpike("{ policy: least_connections }", a, b, c);
        List<WsClient> first = new ArrayList<>();
        for (String p : paths(30, "u")) {
            first.addAll(open(s, List.of(p))); // one at a time: each pick sees the ones before
        }
        List<String> on = names(first);
        assertThat(count(on)).containsEntry("a", 10).containsEntry("b", 10).containsEntry("c", 10);

        // 8 of b's WebSockets end: b is now the least loaded by far, and gets every new one until it catches up
        int closed = 0;
        for (int i = 0; i < first.size() && closed < 8; i++) {
            if (on.get(i).equals("b")) {
                first.get(i).send(new CloseWebSocketFrame(1000, ""));
                assertThat(first.get(i).awaitClosed(5000)).isTrue();
                closed++;
            }
        }
        var cluster = s.server().snapshot().clusters().require("chat");
        WebSocketProxyTest.await(() -> cluster.endpoints().get(1).load() == 2);
        List<WsClient> more = new ArrayList<>();
        for (String p : paths(8, "v")) {
            more.addAll(open(s, List.of(p)));
        }
        assertThat(names(more)).containsOnly("b");
        assertThat(cluster.endpoints()).extracting(e -> e.load()).containsExactly(10, 10, 10);
    }

    @Test
    void consistentHashingKeepsAKeysWebSocketsOnOneEndpoint() throws Exception {
        WsUpstream a = upstream("a");
        WsUpstream b = upstream("b");
        WsUpstream c = upstream("c");
        TestServer s = turnpike("{ policy: consistent_hash, hash_key: \"query:user\" }", a, b, c);
        List<String> users = paths(30, "u");
        List<WsClient> first = open(s, users);
        List<String> before = names(first);
        assertThat(count(before)).containsOnlyKeys("a", "b", "c");
        assertThat(names(open(s, users))).as("the same users again").isEqualTo(before);

        a.kill();
        // a's users are told to go (1012), everyone else stays where they are
        for (int i = 0; i < users.size(); i++) {
            if (before.get(i).equals("a")) {
                assertThat(first.get(i).nextData().closeCode()).isEqualTo(1012);
            } else {
                assertThat(first.get(i).channel.isActive()).isTrue();
            }
        }
        List<String> after = names(open(s, users));
        for (int i = 0; i < users.size(); i++) {
            if (before.get(i).equals("a")) {
                assertThat(after.get(i)).isIn("b", "c");
            } else {
                assertThat(after.get(i)).as(users.get(i)).isEqualTo(before.get(i));
            }
        }
    }

    @Test
    void aKilledUpstreamsClientsGetACloseFrameAndReconnectEvenlyElsewhere() throws Exception {
        WsUpstream a = upstream("a");
        WsUpstream b = upstream("b");
        WsUpstream c = upstream("c");
        TestServer s = turnpike("{ policy: least_connections }", a, b, c);
        List<WsClient> all = open(s, paths(1000, "u"));
        List<String> on = names(all);
        Map<String, Integer> initial = count(on);
        assertThat(initial.values()).allSatisfy(n -> assertThat(n).isBetween(300, 367));

        a.kill();
        List<WsClient> orphans = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            if (on.get(i).equals("a")) {
                WsClient.Frame f = all.get(i).nextData();
                assertThat(f.type()).isEqualTo("close");
                assertThat(f.closeCode()).isIn(1011, 1012);
                orphans.add(all.get(i));
            }
        }
        for (WsClient o : orphans) {
            assertThat(o.awaitClosed(10_000)).isTrue();
        }
        // the others saw nothing
        for (int i = 0; i < all.size(); i++) {
            if (!on.get(i).equals("a")) {
                assertThat(all.get(i).frames).isEmpty();
            }
        }

        List<WsClient> back = open(s, paths(orphans.size(), "r"));
        Map<String, Integer> moved = count(names(back));
        assertThat(moved).doesNotContainKey("a");
        int tolerance = Math.max(10, orphans.size() / 10);
        assertThat(Math.abs(moved.getOrDefault("b", 0) - moved.getOrDefault("c", 0)))
                .as("reconnections spread evenly: %s", moved).isLessThanOrEqualTo(tolerance);
        var cluster = s.server().snapshot().clusters().require("chat");
        assertThat(cluster.endpoints().get(0).load()).isZero();
        assertThat(Math.abs(cluster.endpoints().get(1).load() - cluster.endpoints().get(2).load()))
                .isLessThanOrEqualTo(tolerance);
    }
}
