package dev.turnpike.grpc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;

/**
 * The standard health-checking protocol (grpc/doc/health-checking.md): the path of {@code grpc.health.v1.Health/Check}
 * and its two messages, encoded and decoded by hand. {@code HealthCheckRequest} is {@code string service = 1};
 * {@code HealthCheckResponse} is {@code ServingStatus status = 1} with UNKNOWN 0, SERVING 1, NOT_SERVING 2,
 * SERVICE_UNKNOWN 3.
 */
public final class GrpcHealth {
    public static final String CHECK_PATH = "/grpc.health.v1.Health/Check";
    public static final int UNKNOWN = 0;
    public static final int SERVING = 1;
    public static final int NOT_SERVING = 2;
    public static final int SERVICE_UNKNOWN = 3;

    private static final int FIELD_1_LENGTH_DELIMITED = (1 << 3) | 2;
    private static final int FIELD_1_VARINT = 1 << 3;

    private GrpcHealth() {
    }

    /** A whole gRPC message frame (uncompressed) carrying {@code HealthCheckRequest{service}}. */
    public static ByteBuf request(ByteBufAllocator alloc, String service) {
        byte[] name = service.getBytes(StandardCharsets.UTF_8);
        int messageLength = name.length == 0 ? 0 : 1 + varintSize(name.length) + name.length;
        ByteBuf b = alloc.buffer(Grpc.FRAME_HEADER + messageLength);
        b.writeByte(0).writeInt(messageLength);
        if (name.length > 0) {
            b.writeByte(FIELD_1_LENGTH_DELIMITED);
            writeVarint(b, name.length);
            b.writeBytes(name);
        }
        return b;
    }

    /**
     * The serving status in a {@code HealthCheckResponse} message (without its frame header), or -1 when the bytes
     * are not a valid message. Unknown fields are skipped, as protobuf requires.
     */
    public static int status(ByteBuf message) {
        int status = UNKNOWN;
        ByteBuf m = message.duplicate();
        while (m.isReadable()) {
            long tag = readVarint(m);
            if (tag < 0) {
                return -1;
            }
            int wire = (int) (tag & 7);
            long field = tag >>> 3;
            switch (wire) {
                case 0 -> {
                    long v = readVarint(m);
                    if (v < 0) {
                        return -1;
                    }
                    if (field == 1) {
                        status = (int) v;
                    }
                }
                case 1 -> {
                    if (!skip(m, 8)) {
                        return -1;
                    }
                }
                case 2 -> {
                    long len = readVarint(m);
                    if (len < 0 || !skip(m, len)) {
                        return -1;
                    }
                }
                case 5 -> {
                    if (!skip(m, 4)) {
                        return -1;
                    }
                }
                default -> {
                    return -1;
                }
            }
        }
        return status;
    }

    /** {@code SERVING}, {@code NOT_SERVING} …, for health-check reasons. */
    public static String describe(int status) {
        return switch (status) {
            case UNKNOWN -> "UNKNOWN";
            case SERVING -> "SERVING";
            case NOT_SERVING -> "NOT_SERVING";
            case SERVICE_UNKNOWN -> "SERVICE_UNKNOWN";
            default -> "status " + status;
        };
    }

    private static boolean skip(ByteBuf m, long n) {
        if (n > m.readableBytes()) {
            return false;
        }
        m.skipBytes((int) n);
        return true;
    }

    private static long readVarint(ByteBuf m) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (!m.isReadable()) {
                return -1;
            }
            byte b = m.readByte();
            v |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return v;
            }
        }
        return -1;
    }

    private static int varintSize(int v) {
        int n = 1;
        while ((v & ~0x7f) != 0) {
            v >>>= 7;
            n++;
        }
        return n;
    }

    private static void writeVarint(ByteBuf b, int v) {
        while ((v & ~0x7f) != 0) {
            b.writeByte((v & 0x7f) | 0x80);
            v >>>= 7;
        }
        b.writeByte(v);
    }
}
