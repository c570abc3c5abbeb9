package dev.turnpike.upstream.health;

import dev.turnpike.config.ClusterConfig.ActiveCheck;
import dev.turnpike.testing.H2cUpstream;
import dev.turnpike.upstream.ConnectionPools;
import dev.turnpike.upstream.UpstreamProtocol;
import dev.turnpike.upstream.lb.EndpointState;
import dev.turnpike.upstream.lb.Health;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.turnpike.upstream.health.HealthTesting.await;
import static dev.turnpike.upstream.health.HealthTesting.http;
import static dev.turnpike.upstream.health.HealthTesting.local;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Active checks of HTTP/2 clusters: http checks over h2c, and the gRPC health-checking protocol. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class Http2HealthCheckTest {
    private static final Duration INTERVAL = Duration.ofMillis(100);
    private static final ProbeResolver NO_DNS = e -> CompletableFuture.failedFuture(
            new AssertionError("no lookup expected for " + e));

    private EventLoopGroup group;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeEach
    void setUp() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private void start(ClusterHealth health, ActiveCheck check) {
        ActiveHealthChecker c = new ActiveHealthChecker(health, check, group, NioSocketChannel.class, NO_DNS,
                ActiveHealthChecker.StartMode.ASSUME_UP, e -> (ConnectionPools.Direct) null, UpstreamProtocol.H2C, null);
        closeables.add(c);
        c.start();
    }

    private static ActiveCheck grpc(String service) {
        return new ActiveCheck(ActiveCheck.Kind.GRPC, "/", Optional.empty(), 200, 399, Optional.empty(), INTERVAL,
                Duration.ofSeconds(1), 1, 1, 0.0, service);
    }

    private static HealthSnapshot.EndpointView view(ClusterHealth health, EndpointState s) {
        return health.snapshot().find(s.endpoint());
    }

    /** A grpc-java server on loopback with the standard health service. */
    private HealthStatusManager grpcServer(int[] port) throws Exception {
        HealthStatusManager manager = new HealthStatusManager();
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(manager.getHealthService())
                .build()
                .start();
        closeables.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        port[0] = server.getPort();
        return manager;
    }

    @Test
    void anHttpCheckOfAnH2cClusterIsAnHttp2Get() throws Exception {
        H2cUpstream up = H2cUpstream.start(s -> s.respond(s.path().equals("/healthz") ? 200 : 404, "ok"));
        closeables.add(up);
        EndpointState s = local(up.port());
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        start(health, http("/healthz", 1, 1, INTERVAL, Duration.ofSeconds(1)));
        await(() -> view(health, s).checkSuccesses() >= 3, () -> "3 passes: " + view(health, s));
        H2cUpstream.Stream probe = up.nextRequest();
        assertThat(probe.method()).isEqualTo("GET");
        assertThat(probe.path()).isEqualTo("/healthz");
        assertThat(probe.headers.authority().toString()).isEqualTo("127.0.0.1:" + up.port());
        assertThat(probe.header("user-agent")).isEqualTo(ActiveHealthChecker.USER_AGENT);
        assertThat(probe.header("connection")).isNull();
        assertThat(s.health()).isEqualTo(Health.UP);
    }

    @Test
    void anHttpCheckOfAnH2cClusterFailsOnABadStatus() throws Exception {
        H2cUpstream up = H2cUpstream.start(st -> st.respond(503, Map.of(), "busy"));
        closeables.add(up);
        EndpointState s = local(up.port());
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        start(health, http("/healthz", 1, 1, INTERVAL, Duration.ofSeconds(1)));
        await(() -> s.health() == Health.DOWN, () -> "down: " + view(health, s));
        assertThat(view(health, s).lastCheck()).isEqualTo("health check: status 503 (expected 200-399)");
    }

    @Test
    void aGrpcCheckFollowsTheServingStatusOfTheHealthService() throws Exception {
        int[] port = new int[1];
        HealthStatusManager manager = grpcServer(port);
        manager.setStatus("shop.Orders", ServingStatus.SERVING);
        EndpointState s = local(port[0]);
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        start(health, grpc("shop.Orders"));
        await(() -> view(health, s).checkSuccesses() >= 2, () -> "2 passes: " + view(health, s));
        assertThat(s.health()).isEqualTo(Health.UP);

        manager.setStatus("shop.Orders", ServingStatus.NOT_SERVING);
        await(() -> s.health() == Health.DOWN, () -> "down: " + view(health, s));
        assertThat(view(health, s).lastCheck()).isEqualTo("health check: NOT_SERVING");

        manager.setStatus("shop.Orders", ServingStatus.SERVING);
        await(() -> s.health() == Health.UP, () -> "up again: " + view(health, s));
    }

    @Test
    void aGrpcCheckOfTheWholeServerAndOfAnUnknownService() throws Exception {
        int[] port = new int[1];
        grpcServer(port); // the server as a whole ("") is SERVING by default
        EndpointState whole = local(port[0]);
        ClusterHealth wholeHealth = new ClusterHealth("api", List.of(whole));
        start(wholeHealth, grpc(""));
        await(() -> view(wholeHealth, whole).checkSuccesses() >= 2, () -> "passes: " + view(wholeHealth, whole));

        EndpointState unknown = local(port[0]);
        ClusterHealth unknownHealth = new ClusterHealth("other", List.of(unknown));
        start(unknownHealth, grpc("no.Such"));
        await(() -> unknown.health() == Health.DOWN, () -> "down: " + view(unknownHealth, unknown));
        assertThat(view(unknownHealth, unknown).lastCheck()).startsWith("health check: gRPC status 5 NOT_FOUND");
    }

    @Test
    void aGrpcCheckOfAServerThatDoesNotSpeakHttp2Fails() throws Exception {
        FakeUpstream h1 = new FakeUpstream();
        closeables.add(h1);
        EndpointState s = local(h1.port());
        ClusterHealth health = new ClusterHealth("api", List.of(s));
        start(health, grpc(""));
        await(() -> s.health() == Health.DOWN, () -> "down: " + view(health, s));
        assertThat(view(health, s).lastCheck()).startsWith("health check:");
    }

    @Test
    void aGrpcCheckNeedsAnHttp2Cluster() {
        ClusterHealth health = new ClusterHealth("api", List.of(local(1)));
        assertThatThrownBy(() -> new ActiveHealthChecker(health, grpc(""), group, NioSocketChannel.class, NO_DNS,
                ActiveHealthChecker.StartMode.ASSUME_UP, e -> null, UpstreamProtocol.HTTP1, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("HTTP/2");
    }
}
