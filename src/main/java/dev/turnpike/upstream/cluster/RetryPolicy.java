package dev.turnpike.upstream.cluster;

import dev.turnpike.config.ClusterConfig;
import io.netty.handler.codec.http.HttpMethod;

import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Whether a failed attempt may be tried again, from a cluster's {@code retries} configuration. Immutable, lock-free
 * and allocation-free; one per cluster ({@link ClusterRuntime#retryPolicy()}).
 *
 * <p>The rules, in order:
 * <ol>
 *   <li>{@code attempts: 0} turns retries off: nothing is retryable.</li>
 *   <li>A request whose body was <em>streamed</em> (body bytes went to an upstream and were not kept, because the body
 *       was larger than {@code buffer_body}) is never retried: it cannot be sent again. A body buffered whole (at
 *       most {@code buffer_body}) or no body at all does not stop a retry.</li>
 *   <li>A failed connect ({@link FailureKind#CONNECT_FAILURE}) or a connection that failed before any byte of the
 *       request was written ({@link FailureKind#RESET_BEFORE_REQUEST_SENT}) may be retried for <b>any</b> method: the
 *       upstream cannot have acted on the request.</li>
 *   <li>Otherwise the request reached the upstream, and only an idempotent method ({@link #isIdempotent}: GET, HEAD,
 *       OPTIONS, TRACE, PUT, DELETE, RFC 9110 §9.2.2) may be retried, and only on what {@code on} lists:
 *       {@code reset} for {@link FailureKind#RESET_AFTER_SENT}, {@code timeout} for {@link FailureKind#TIMEOUT}, a
 *       status such as {@code 503} for {@link FailureKind#STATUS}. A POST or PATCH that reached the upstream is never
 *       retried.</li>
 * </ol>
 * Whether a retry actually happens also needs attempts left ({@link #maxRetries()}) and room in the
 * {@link RetryBudget}; and no retry is possible once any of the response went to the client (phase B must hold back a
 * response head whose status is retryable, {@link #retriesStatus}, until it knows it will not retry).
 */
public final class RetryPolicy {

    /** Why an attempt failed. */
    public enum FailureKind {
        /** The connection could not be made (refused, unreachable, connect timeout, unresolvable name). */
        CONNECT_FAILURE,
        /**
         * The connection failed before a single byte of this request was written to it (typically a pooled
         * keep-alive connection the upstream had closed). Detect it by the write of the head failing, or the
         * connection closing before the head's write was attempted.
         */
        RESET_BEFORE_REQUEST_SENT,
        /** The connection broke (or the response was invalid) after request bytes went out, before a response head. */
        RESET_AFTER_SENT,
        /** The send or first-byte timeout expired after request bytes went out. */
        TIMEOUT,
        /** A complete response head arrived; its status is passed alongside. */
        STATUS
    }

    /** Off: {@code attempts: 0}. */
    public static final RetryPolicy NONE = new RetryPolicy(0, Set.of(), 0);

    private final int maxRetries;
    private final boolean onReset;
    private final boolean onTimeout;
    private final boolean[] onStatus = new boolean[600];
    private final boolean anyStatus;
    private final long bufferBody;

    /**
     * @param maxRetries extra attempts after the first
     * @param on         {@code connect_failure}, {@code reset}, {@code timeout} and statuses ({@code "503"}); case
     *                   does not matter. {@code connect_failure} is accepted but always on
     * @param bufferBody request bodies up to this many bytes may be kept for a retry
     * @throws IllegalArgumentException for an unknown condition or a status outside 100..599
     */
    public RetryPolicy(int maxRetries, Set<String> on, long bufferBody) {
        if (maxRetries < 0) {
            throw new IllegalArgumentException("retry attempts must not be negative: " + maxRetries);
        }
        if (bufferBody < 0) {
            throw new IllegalArgumentException("buffer_body must not be negative: " + bufferBody);
        }
        this.maxRetries = maxRetries;
        this.bufferBody = bufferBody;
        boolean reset = false;
        boolean timeout = false;
        boolean status = false;
        for (String raw : Objects.requireNonNull(on, "on")) {
            String c = raw.strip().toLowerCase(Locale.ROOT);
            switch (c) {
                case "connect_failure" -> { }
                case "reset" -> reset = true;
                case "timeout" -> timeout = true;
                default -> {
                    int s;
                    try {
                        s = Integer.parseInt(c);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("unknown retry condition '" + raw
                                + "'; expected connect_failure, reset, timeout or a status");
                    }
                    if (s < 100 || s > 599) {
                        throw new IllegalArgumentException("retry status must be between 100 and 599: " + raw);
                    }
                    onStatus[s] = true;
                    status = true;
                }
            }
        }
        this.onReset = reset;
        this.onTimeout = timeout;
        this.anyStatus = status;
    }

    public static RetryPolicy of(ClusterConfig.Retries retries) {
        return new RetryPolicy(retries.attempts(), retries.on(), retries.bufferBody());
    }

    /** Extra attempts after the first; 0 = retries off. */
    public int maxRetries() {
        return maxRetries;
    }

    /** The largest request body (bytes) kept so that it can be sent again; larger bodies are streamed. */
    public long bufferBody() {
        return bufferBody;
    }

    /**
     * Whether a body of {@code contentLength} bytes is to be buffered for retries: retries are on and the length is
     * known and at most {@link #bufferBody()}. For a body of unknown length (chunked), buffer while it stays within
     * the limit and switch to streaming (and so give up retries) when it grows past it.
     */
    public boolean buffersBody(long contentLength) {
        return maxRetries > 0 && contentLength >= 0 && contentLength <= bufferBody;
    }

    /** Whether the configuration retries on {@code status} at all (for idempotent requests). */
    public boolean retriesStatus(int status) {
        return anyStatus && status >= 0 && status < onStatus.length && onStatus[status];
    }

    /** RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE. Method names are case-sensitive. */
    public static boolean isIdempotent(String method) {
        return switch (method) {
            case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" -> true;
            case null, default -> false;
        };
    }

    /** {@link #retryable(String, FailureKind, int, boolean)} with Netty's method. */
    public boolean retryable(HttpMethod method, FailureKind kind, int status, boolean bodyStreamed) {
        return retryable(method.name(), kind, status, bodyStreamed);
    }

    /**
     * Whether an attempt that failed as {@code kind} says may be tried again (the rules of the class comment).
     * Attempts left and the retry budget are the caller's to check.
     *
     * @param method       the request method, e.g. {@code "GET"}
     * @param kind         how the attempt failed
     * @param status       the response status when {@code kind} is {@link FailureKind#STATUS}, else ignored
     * @param bodyStreamed whether request body bytes were sent to an upstream without being kept (the body was
     *                     larger than {@code buffer_body}); false for no body and for a body buffered whole
     */
    public boolean retryable(String method, FailureKind kind, int status, boolean bodyStreamed) {
        if (maxRetries == 0 || bodyStreamed) {
            return false;
        }
        return switch (kind) {
            case CONNECT_FAILURE, RESET_BEFORE_REQUEST_SENT -> true;
            case RESET_AFTER_SENT -> onReset && isIdempotent(method);
            case TIMEOUT -> onTimeout && isIdempotent(method);
            case STATUS -> retriesStatus(status) && isIdempotent(method);
        };
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("RetryPolicy{retries=").append(maxRetries).append(", on=[connect_failure");
        if (onReset) {
            b.append(", reset");
        }
        if (onTimeout) {
            b.append(", timeout");
        }
        for (int s = 0; s < onStatus.length; s++) {
            if (onStatus[s]) {
                b.append(", ").append(s);
            }
        }
        return b.append("], bufferBody=").append(bufferBody).append('}').toString();
    }
}
