package dev.turnpike.proxy;

import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A gRPC service for the proxy tests, with plain UTF-8 strings as messages (a custom marshaller: no protobuf code
 * generation needed), one method of each call type, and a real grpc-java server (Netty, h2c) to run it on.
 */
final class EchoGrpcService {
    static final String SERVICE = "test.Echo";

    static final MethodDescriptor.Marshaller<String> STRING = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
            try {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    /** "x" → "echo: x". A request "fail:CODE" fails with that status; "sleep:MS" answers after MS milliseconds. */
    static final MethodDescriptor<String, String> UNARY = method("Unary", MethodDescriptor.MethodType.UNARY);
    /** "a b c" → "a", "b", "c". */
    static final MethodDescriptor<String, String> SPLIT = method("Split", MethodDescriptor.MethodType.SERVER_STREAMING);
    /** "a", "b", "c" → "a+b+c". */
    static final MethodDescriptor<String, String> JOIN = method("Join", MethodDescriptor.MethodType.CLIENT_STREAMING);
    /** Each "x" → "x!" at once. */
    static final MethodDescriptor<String, String> CHAT = method("Chat", MethodDescriptor.MethodType.BIDI_STREAMING);

    static MethodDescriptor<String, String> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<String, String>newBuilder()
                .setType(type)
                .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
                .setRequestMarshaller(STRING)
                .setResponseMarshaller(STRING)
                .build();
    }

    final AtomicInteger calls = new AtomicInteger();
    final AtomicInteger cancelled = new AtomicInteger();

    ServerServiceDefinition definition() {
        return ServerServiceDefinition.builder(SERVICE)
                .addMethod(UNARY, ServerCalls.asyncUnaryCall(this::unary))
                .addMethod(SPLIT, ServerCalls.asyncServerStreamingCall((String req, StreamObserver<String> out) -> {
                    calls.incrementAndGet();
                    for (String word : req.split(" ")) {
                        out.onNext(word);
                    }
                    out.onCompleted();
                }))
                .addMethod(JOIN, ServerCalls.asyncClientStreamingCall(out -> {
                    calls.incrementAndGet();
                    List<String> parts = new ArrayList<>();
                    return new StreamObserver<>() {
                        @Override
                        public void onNext(String value) {
                            parts.add(value);
                        }

                        @Override
                        public void onError(Throwable t) {
                        }

                        @Override
                        public void onCompleted() {
                            out.onNext(String.join("+", parts));
                            out.onCompleted();
                        }
                    };
                }))
                .addMethod(CHAT, ServerCalls.asyncBidiStreamingCall(out -> {
                    calls.incrementAndGet();
                    return new StreamObserver<>() {
                        @Override
                        public void onNext(String value) {
                            out.onNext(value + "!");
                        }

                        @Override
                        public void onError(Throwable t) {
                        }

                        @Override
                        public void onCompleted() {
                            out.onCompleted();
                        }
                    };
                }))
                .build();
    }

    private void unary(String req, StreamObserver<String> out) {
        calls.incrementAndGet();
        if (req.startsWith("fail:")) {
            out.onError(Status.fromCodeValue(Integer.parseInt(req.substring(5))).withDescription("asked to fail")
                    .asRuntimeException());
            return;
        }
        if (req.startsWith("sleep:")) {
            io.grpc.Context ctx = io.grpc.Context.current();
            try {
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Long.parseLong(req.substring(6)));
                while (System.nanoTime() < until) {
                    if (ctx.isCancelled()) {
                        cancelled.incrementAndGet();
                        return;
                    }
                    Thread.sleep(10);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        out.onNext("echo: " + req);
        out.onCompleted();
    }

    /** A grpc-java server on loopback with this service and the standard health service. */
    Server start(HealthStatusManager health) throws IOException {
        NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(definition());
        if (health != null) {
            b.addService(health.getHealthService());
        }
        return b.build().start();
    }

    /** The length-prefixed frame of one message (flag 0). */
    static byte[] frame(String message) {
        byte[] m = message.getBytes(StandardCharsets.UTF_8);
        byte[] f = new byte[5 + m.length];
        f[1] = (byte) (m.length >>> 24);
        f[2] = (byte) (m.length >>> 16);
        f[3] = (byte) (m.length >>> 8);
        f[4] = (byte) m.length;
        System.arraycopy(m, 0, f, 5, m.length);
        return f;
    }

    /** The frames of a gRPC(-Web) body: each as "flag|text" (flag 0 data, 128 trailers). */
    static List<String> frames(byte[] body) {
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i + 5 <= body.length) {
            int flag = body[i] & 0xff;
            int len = ((body[i + 1] & 0xff) << 24) | ((body[i + 2] & 0xff) << 16) | ((body[i + 3] & 0xff) << 8)
                    | (body[i + 4] & 0xff);
            out.add(flag + "|" + new String(body, i + 5, len, StandardCharsets.UTF_8));
            i += 5 + len;
        }
        if (i != body.length) {
            out.add("trailing garbage: " + (body.length - i) + " bytes");
        }
        return out;
    }
}
