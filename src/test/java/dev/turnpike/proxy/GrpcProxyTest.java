package dev.turnpike.proxy;

import dev.turnpike.testing.TestServer;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * A real grpc-java client, over HTTP/2 with prior knowledge, through Turnpike to a real grpc-java server on an h2c
 * cluster: the four call types with their trailers, deadlines, and the statuses of calls Turnpike fails itself.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GrpcProxyTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final EchoGrpcService service = new EchoGrpcService();

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closeables);
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private int grpcServer() throws Exception {
        Server server = service.start(null);
        closeables.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        return server.getPort();
    }

    private TestServer turnpike(int upstreamPort, String clusterExtra) throws Exception {
        String yaml = "listen: \"127.0.0.1:0\"\n"
                + "server: {event_loops: 2}\n"
                + "access_log: off\n"
                + "clusters:\n"
                + "  grpc:\n"
                + "    endpoints: [\"127.0.0.1:" + upstreamPort + "\"]\n"
                + "    protocol: h2c\n"
                + clusterExtra
                + "sites:\n"
                + "  - routes:\n"
                + "      - path: /test.Echo/*\n"
                + "        proxy: {cluster: grpc}\n";
        TestServer s = TestServer.start(yaml);
        closeables.add(s);
        return s;
    }

    /** A grpc-java channel to Turnpike over cleartext HTTP/2 (prior knowledge). */
    private ManagedChannel channel(TestServer s) {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", s.port()).usePlaintext().build();
        closeables.add(() -> ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        return ch;
    }

    @Test
    void unaryCall() throws Exception {
        TestServer s = turnpike(grpcServer(), "");
        ManagedChannel ch = channel(s);
        String answer = ClientCalls.blockingUnaryCall(ch, EchoGrpcService.UNARY,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "hello");
        assertThat(answer).isEqualTo("echo: hello");
        // and again on the same client connection: a new stream each time
        assertThat(ClientCalls.blockingUnaryCall(ch, EchoGrpcService.UNARY, CallOptions.DEFAULT, "again"))
                .isEqualTo("echo: again");
    }

    @Test
    void serverStreamingCall() throws Exception {
        TestServer s = turnpike(grpcServer(), "");
        Iterator<String> it = ClientCalls.blockingServerStreamingCall(channel(s), EchoGrpcService.SPLIT,
                CallOptions.DEFAULT, "one two three four");
        List<String> words = new ArrayList<>();
        it.forEachRemaining(words::add);
        assertThat(words).containsExactly("one", "two", "three", "four");
    }

    @Test
    void clientStreamingCall() throws Exception {
        TestServer s = turnpike(grpcServer(), "");
        CompletableFuture<String> result = new CompletableFuture<>();
        StreamObserver<String> requests = ClientCalls.asyncClientStreamingCall(
                channel(s).newCall(EchoGrpcService.JOIN, CallOptions.DEFAULT), observer(result));
        for (String part : new String[] {"a", "b", "c"}) {
            requests.onNext(part);
        }
        requests.onCompleted();
        assertThat(result.get(10, TimeUnit.SECONDS)).isEqualTo("a+b+c");
    }

    @Test
    void bidirectionalStreamingCallIsInterleaved() throws Exception {
        TestServer s = turnpike(grpcServer(), "");
        LinkedBlockingQueue<String> answers = new LinkedBlockingQueue<>();
        CompletableFuture<Status> done = new CompletableFuture<>();
        StreamObserver<String> requests = ClientCalls.asyncBidiStreamingCall(
                channel(s).newCall(EchoGrpcService.CHAT, CallOptions.DEFAULT), new StreamObserver<>() {
                    @Override
                    public void onNext(String value) {
                        answers.add(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        done.complete(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        done.complete(Status.OK);
                    }
                });
        // each answer arrives before the next request is sent: the stream is not buffered whole
        for (String m : new String[] {"ping", "pong", "bye"}) {
            requests.onNext(m);
            assertThat(answers.poll(5, TimeUnit.SECONDS)).isEqualTo(m + "!");
        }
        requests.onCompleted();
        assertThat(done.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
    }

    @Test
    void aStatusAndTrailersFromTheServerReachTheClient() throws Exception {
        TestServer s = turnpike(grpcServer(), "");
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
                () -> ClientCalls.blockingUnaryCall(channel(s), EchoGrpcService.UNARY, CallOptions.DEFAULT,
                        "fail:9"));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(e.getStatus().getDescription()).isEqualTo("asked to fail");
    }

    @Test
    void aClientDeadlineShorterThanASlowUpstreamIsDeadlineExceededOnTime() throws Exception {
        TestServer s = turnpike(grpcServer(), "");
        ManagedChannel ch = channel(s);
        warmUp(ch);
        long start = System.nanoTime();
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
                () -> ClientCalls.blockingUnaryCall(ch, EchoGrpcService.UNARY,
                        CallOptions.DEFAULT.withDeadlineAfter(500, TimeUnit.MILLISECONDS), "sleep:5000"));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(ms).isBetween(450L, 3000L);
        assertThat(service.calls.get()).as("the slow call reached the upstream").isEqualTo(2);
        // the upstream call was cancelled too, not left running to its end
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (service.cancelled.get() == 0 && System.nanoTime() < until) {
            Thread.sleep(20);
        }
        assertThat(service.cancelled.get()).isEqualTo(1);
    }

    @Test
    void turnpikeEndsACallAtItsDeadlineWithDeadlineExceeded() throws Exception {
        TestServer s = turnpike(grpcServer(), "");
        ManagedChannel ch = channel(s);
        warmUp(ch);
        // The deadline is in grpc-timeout, but the client does not enforce it itself: Turnpike must.
        ClientCall<String, String> call = ch.newCall(EchoGrpcService.UNARY, CallOptions.DEFAULT);
        CompletableFuture<Status> closed = new CompletableFuture<>();
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("grpc-timeout", Metadata.ASCII_STRING_MARSHALLER), "300m");
        long start = System.nanoTime();
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, headers);
        call.sendMessage("sleep:5000");
        call.halfClose();
        call.request(1);
        Status st = closed.get(10, TimeUnit.SECONDS);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(st.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(ms).isBetween(250L, 3000L);
    }

    @Test
    void anUpstreamThatIsDownIsUnavailable() throws Exception {
        int dead;
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0)) {
            dead = ss.getLocalPort();
        }
        TestServer s = turnpike(dead, "    retries: {attempts: 0}\n");
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
                () -> ClientCalls.blockingUnaryCall(channel(s), EchoGrpcService.UNARY, CallOptions.DEFAULT, "x"));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(e.getStatus().getDescription()).contains("refused");
    }

    @Test
    void anUnknownMethodIsUnimplemented() throws Exception {
        TestServer s = turnpike(grpcServer(), "");
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
                () -> ClientCalls.blockingUnaryCall(channel(s),
                        EchoGrpcService.method("Nope", io.grpc.MethodDescriptor.MethodType.UNARY),
                        CallOptions.DEFAULT, "x"));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
    }

    @Test
    void aPathWithoutARouteIsUnimplementedFromTurnpike() throws Exception {
        TestServer s = turnpike(grpcServer(), "");
        io.grpc.MethodDescriptor<String, String> other = io.grpc.MethodDescriptor.<String, String>newBuilder()
                .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
                .setFullMethodName("other.Service/Call")
                .setRequestMarshaller(EchoGrpcService.STRING)
                .setResponseMarshaller(EchoGrpcService.STRING)
                .build();
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
                () -> ClientCalls.blockingUnaryCall(channel(s), other, CallOptions.DEFAULT, "x"));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
        assertThat(service.calls.get()).isZero();
    }

    @Test
    void manyConcurrentCallsFromOneClientConnection() throws Exception {
        TestServer s = turnpike(grpcServer(), "");
        ManagedChannel ch = channel(s);
        List<CompletableFuture<String>> answers = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            CompletableFuture<String> f = new CompletableFuture<>();
            ClientCalls.asyncUnaryCall(ch.newCall(EchoGrpcService.UNARY, CallOptions.DEFAULT), "n" + i, observer(f));
            answers.add(f);
        }
        for (int i = 0; i < 50; i++) {
            assertThat(answers.get(i).get(20, TimeUnit.SECONDS)).isEqualTo("echo: n" + i);
        }
    }

    /** A first call, so that connections are open and classes loaded before a call is timed. */
    private static void warmUp(ManagedChannel ch) {
        assertThat(ClientCalls.blockingUnaryCall(ch, EchoGrpcService.UNARY, CallOptions.DEFAULT, "warm"))
                .isEqualTo("echo: warm");
    }

    private static <T> StreamObserver<T> observer(CompletableFuture<T> result) {
        return new StreamObserver<>() {
            @Override
            public void onNext(T value) {
                result.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                result.complete(null);
            }
        };
    }
}
