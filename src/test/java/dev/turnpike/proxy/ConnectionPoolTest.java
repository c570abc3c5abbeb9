package dev.turnpike.proxy;

import dev.turnpike.upstream.ConnectionPool;
import dev.turnpike.upstream.ConnectionPools;
import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.PoolConfig;
import dev.turnpike.upstream.UpstreamProtocol;
import dev.turnpike.upstream.UpstreamConnection;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** The per-(loop, endpoint) pool on its own: LIFO reuse, the idle cap, expiry and upstream closes. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class ConnectionPoolTest {
    private MultiThreadIoEventLoopGroup group;
    private EventLoop loop;
    private TestUpstream upstream;
    private ConnectionPools pools;

    @BeforeEach
    void setUp() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        loop = group.next();
        upstream = TestUpstream.start((req, c) -> true);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (pools != null) {
            pools.close();
        }
        upstream.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    private ConnectionPool pool(int maxIdle, Duration expiry) throws Exception {
        pools = new ConnectionPools(new PoolConfig(Duration.ofSeconds(1), maxIdle, expiry, 8192, 65536, 65536),
                NioSocketChannel.class, Runnable::run);
        Endpoint endpoint = new Endpoint("127.0.0.1", upstream.port());
        return onLoop(() -> pools.pool(loop, endpoint, PooledByteBufAllocator.DEFAULT));
    }

    private <T> T onLoop(Callable<T> task) throws Exception {
        return loop.submit(task).get(5, TimeUnit.SECONDS);
    }

    private UpstreamConnection connect(ConnectionPool pool) throws Exception {
        CompletableFuture<UpstreamConnection> f = new CompletableFuture<>();
        loop.execute(() -> pool.connect(new ConnectionPool.ConnectCallback() {
            @Override
            public void connected(UpstreamConnection connection) {
                f.complete(connection);
            }

            @Override
            public void connectFailed(Throwable cause) {
                f.completeExceptionally(cause);
            }
        }));
        return f.get(5, TimeUnit.SECONDS);
    }

    private void release(UpstreamConnection c) throws Exception {
        onLoop(() -> {
            c.release(true);
            return null;
        });
    }

    @Test
    void idleConnectionsAreReusedLastInFirstOutAndCappedOldestFirst() throws Exception {
        ConnectionPool pool = pool(2, Duration.ofSeconds(60));
        List<UpstreamConnection> conns = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            conns.add(connect(pool));
        }
        for (UpstreamConnection c : conns) {
            release(c);
        }
        assertThat(onLoop(pool::idleConnections)).isEqualTo(2);
        conns.get(0).channel().closeFuture().await(5, TimeUnit.SECONDS);
        assertThat(conns.get(0).channel().isOpen()).as("the oldest idle connection beyond the cap is closed").isFalse();
        assertThat(onLoop(pool::pollIdle)).isSameAs(conns.get(2));
        assertThat(onLoop(pool::pollIdle)).isSameAs(conns.get(1));
        assertThat(onLoop(pool::pollIdle)).isNull();
        assertThat(onLoop(pool::openConnections)).isEqualTo(2);
    }

    @Test
    void idleConnectionsExpire() throws Exception {
        ConnectionPool pool = pool(8, Duration.ofMillis(200));
        UpstreamConnection c = connect(pool);
        release(c);
        assertThat(c.channel().closeFuture().await(3, TimeUnit.SECONDS)).isTrue();
        assertThat(onLoop(pool::idleConnections)).isZero();
        assertThat(upstream.closed.poll(3, TimeUnit.SECONDS)).isEqualTo(1);
    }

    @Test
    void anIdleConnectionTheUpstreamClosesLeavesThePool() throws Exception {
        ConnectionPool pool = pool(8, Duration.ofSeconds(60));
        UpstreamConnection c = connect(pool);
        release(c);
        assertThat(onLoop(pool::idleConnections)).isEqualTo(1);
        long accepted = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (upstream.connections.get() == 0 && System.nanoTime() < accepted) {
            Thread.sleep(5); // close() only closes the sockets the upstream has accepted
        }
        upstream.close(); // closes the server side of every connection
        assertThat(c.channel().closeFuture().await(3, TimeUnit.SECONDS)).isTrue();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (onLoop(pool::idleConnections) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(5); // channelInactive follows the close future by one loop task
        }
        assertThat(onLoop(pool::idleConnections)).isZero();
        assertThat(onLoop(pool::openConnections)).isZero();
        assertThat(onLoop(pool::pollIdle)).isNull();
    }

    @Test
    void closingThePoolsClosesIdleConnectionsAndKeepsNothingAfterwards() throws Exception {
        ConnectionPool pool = pool(8, Duration.ofSeconds(60));
        UpstreamConnection idle = connect(pool);
        UpstreamConnection busy = connect(pool);
        release(idle);
        pools.close();
        assertThat(idle.channel().closeFuture().await(3, TimeUnit.SECONDS)).isTrue();
        release(busy); // in use during close: closed on release
        assertThat(busy.channel().closeFuture().await(3, TimeUnit.SECONDS)).isTrue();
        assertThat(onLoop(pool::idleConnections)).isZero();
    }

    @Test
    void endpointsNormaliseHostsAndFormatAuthorities() {
        assertThat(new Endpoint("[::1]", 8080).host()).isEqualTo("::1");
        assertThat(new Endpoint("::1", 8080).authority()).isEqualTo("[::1]:8080");
        assertThat(new Endpoint("Example.COM", 80).hostHeader()).isEqualTo("example.com");
        assertThat(new Endpoint("example.com", 8080).hostHeader()).isEqualTo("example.com:8080");
        assertThat(new Endpoint("127.0.0.1", 80).literalAddress()).isNotNull();
        assertThat(new Endpoint("localhost", 80).literalAddress()).isNull();
    }

    /**
     * A host name that moves to another address is looked up again once its {@code dns_refresh} has passed: new
     * connections go to the new address, and the connection already established to the old one keeps serving.
     */
    @Test
    void aRenamedHostIsResolvedAgainWithoutDroppingEstablishedConnections() throws Exception {
        InetAddress first = InetAddress.getByName("127.0.0.1");
        InetAddress second = InetAddress.getByName("127.0.0.2");
        try (ServerSocket a = new ServerSocket(0, 50, first);
             ServerSocket b = new ServerSocket(a.getLocalPort(), 50, second)) {
            AtomicReference<InetAddress> dns = new AtomicReference<>(first);
            AtomicInteger lookups = new AtomicInteger();
            pools = new ConnectionPools(new PoolConfig(Duration.ofSeconds(1), 8, Duration.ofSeconds(60), 8192, 65536,
                    65536, 0, Duration.ZERO, Duration.ofMillis(300), 0, 0, Duration.ofSeconds(5), UpstreamProtocol.HTTP1),
                    NioSocketChannel.class, Runnable::run, null, host -> {
                        assertThat(host).isEqualTo("app.internal");
                        lookups.incrementAndGet();
                        return dns.get();
                    });
            Endpoint endpoint = new Endpoint("app.internal", a.getLocalPort());
            ConnectionPool pool = onLoop(() -> pools.pool(loop, endpoint, PooledByteBufAllocator.DEFAULT));

            UpstreamConnection old = connect(pool);
            try (Socket oldServerSide = a.accept()) {
                assertThat(((InetSocketAddress) old.channel().remoteAddress()).getAddress()).isEqualTo(first);
                UpstreamConnection cached = connect(pool);
                a.accept().close();
                assertThat(lookups.get()).as("the second connect used the cached answer").isEqualTo(1);
                assertThat(((InetSocketAddress) cached.channel().remoteAddress()).getAddress()).isEqualTo(first);

                dns.set(second);
                Thread.sleep(400); // past dns_refresh
                UpstreamConnection moved = connect(pool);
                try (Socket newServerSide = b.accept()) {
                    assertThat(((InetSocketAddress) moved.channel().remoteAddress()).getAddress()).isEqualTo(second);
                    assertThat(lookups.get()).isEqualTo(2);
                    assertThat(old.channel().isActive()).as("the connection to the old address stays open").isTrue();
                    old.channel().writeAndFlush(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET,
                            "/still-here")).sync();
                    assertThat(new String(oldServerSide.getInputStream().readNBytes(20), StandardCharsets.US_ASCII))
                            .isEqualTo("GET /still-here HTTP");
                }
            }
        }
    }
}
