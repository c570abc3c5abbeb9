package dev.turnpike.grpc;

/** The gRPC status codes (grpc/doc/statuscodes.md), by number. */
public enum GrpcStatus {
    OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED,
    RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS,
    UNAUTHENTICATED;

    private static final GrpcStatus[] BY_CODE = values();

    public int code() {
        return ordinal();
    }

    /** The status of {@code code}, or null when it is not one. */
    public static GrpcStatus of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }

    /** {@code 14 UNAVAILABLE}, or {@code 99} for a code that is not one: for logs and health-check reasons. */
    public static String describe(int code) {
        GrpcStatus s = of(code);
        return s == null ? Integer.toString(code) : code + " " + s.name();
    }
}
