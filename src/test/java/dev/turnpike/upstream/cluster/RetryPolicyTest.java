package dev.turnpike.upstream.cluster;

import dev.turnpike.config.ClusterConfig;
import dev.turnpike.upstream.cluster.RetryPolicy.FailureKind;
import io.netty.handler.codec.http.HttpMethod;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RetryPolicyTest {

    /** The configurations the table refers to by name. */
    private static final Map<String, RetryPolicy> POLICIES = Map.of(
            // the default: on [connect_failure, reset], one retry
            "default", RetryPolicy.of(ClusterConfig.Retries.defaults()),
            "full", new RetryPolicy(2, Set.of("connect_failure", "reset", "timeout", "502", "503", "504"), 65536),
            // nothing listed: only never-sent requests are retried
            "empty", new RetryPolicy(1, Set.of(), 65536),
            // attempts: 0 turns everything off
            "off", new RetryPolicy(0, Set.of("connect_failure", "reset", "timeout", "503"), 65536));

    @ParameterizedTest(name = "[{index}] {0}: {1} {2} {3} streamed={4} -> {5}")
    @CsvSource(delimiter = '|', textBlock = """
            # policy | method  | kind                      | status | streamed | retryable
            # a failed connect or a request never sent: any method
            default  | GET     | CONNECT_FAILURE           | 0      | false    | true
            default  | POST    | CONNECT_FAILURE           | 0      | false    | true
            default  | PATCH   | CONNECT_FAILURE           | 0      | false    | true
            empty    | POST    | CONNECT_FAILURE           | 0      | false    | true
            default  | POST    | RESET_BEFORE_REQUEST_SENT | 0      | false    | true
            empty    | PATCH   | RESET_BEFORE_REQUEST_SENT | 0      | false    | true
            # a non-idempotent POST that reached the upstream is never retried
            full     | POST    | RESET_AFTER_SENT          | 0      | false    | false
            full     | POST    | TIMEOUT                   | 0      | false    | false
            full     | POST    | STATUS                    | 503    | false    | false
            full     | PATCH   | STATUS                    | 502    | false    | false
            default  | POST    | RESET_AFTER_SENT          | 0      | false    | false
            # idempotent methods: what `on` lists
            default  | GET     | RESET_AFTER_SENT          | 0      | false    | true
            default  | PUT     | RESET_AFTER_SENT          | 0      | false    | true
            default  | DELETE  | RESET_AFTER_SENT          | 0      | false    | true
            empty    | GET     | RESET_AFTER_SENT          | 0      | false    | false
            default  | GET     | TIMEOUT                   | 0      | false    | false
            full     | GET     | TIMEOUT                   | 0      | false    | true
            full     | HEAD    | TIMEOUT                   | 0      | false    | true
            default  | GET     | STATUS                    | 503    | false    | false
            full     | GET     | STATUS                    | 503    | false    | true
            full     | OPTIONS | STATUS                    | 502    | false    | true
            full     | TRACE   | STATUS                    | 504    | false    | true
            full     | GET     | STATUS                    | 500    | false    | false
            full     | GET     | STATUS                    | 200    | false    | false
            full     | GET     | STATUS                    | 404    | false    | false
            # methods are case-sensitive: "get" is not GET
            full     | get     | STATUS                    | 503    | false    | false
            # a streamed body is never retried, whatever the failure
            full     | GET     | CONNECT_FAILURE           | 0      | true     | false
            full     | PUT     | RESET_BEFORE_REQUEST_SENT | 0      | true     | false
            full     | PUT     | RESET_AFTER_SENT          | 0      | true     | false
            full     | PUT     | STATUS                    | 503    | true     | false
            # attempts: 0
            off      | GET     | CONNECT_FAILURE           | 0      | false    | false
            off      | GET     | STATUS                    | 503    | false    | false
            """)
    void retryable(String policy, String method, FailureKind kind, int status, boolean streamed, boolean expected) {
        RetryPolicy p = POLICIES.get(policy);
        assertThat(p.retryable(method, kind, status, streamed)).isEqualTo(expected);
    }

    @Test
    void aNonIdempotentPostThatReachedTheUpstreamIsNeverRetried() {
        RetryPolicy everything = new RetryPolicy(10, Set.of("connect_failure", "reset", "timeout", "500", "502",
                "503", "504"), 1 << 20);
        for (FailureKind kind : new FailureKind[] {FailureKind.RESET_AFTER_SENT, FailureKind.TIMEOUT}) {
            assertThat(everything.retryable(HttpMethod.POST, kind, 0, false)).as(kind.name()).isFalse();
        }
        for (int status = 500; status < 600; status++) {
            assertThat(everything.retryable(HttpMethod.POST, FailureKind.STATUS, status, false)).isFalse();
        }
        // ... while it may go again when it never got there
        assertThat(everything.retryable(HttpMethod.POST, FailureKind.CONNECT_FAILURE, 0, false)).isTrue();
        assertThat(everything.retryable(HttpMethod.POST, FailureKind.RESET_BEFORE_REQUEST_SENT, 0, false)).isTrue();
    }

    @Test
    void idempotentMethodsPerRfc9110() {
        for (String m : new String[] {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
            assertThat(RetryPolicy.isIdempotent(m)).as(m).isTrue();
        }
        for (String m : new String[] {"POST", "PATCH", "CONNECT", "PROPFIND", "get", ""}) {
            assertThat(RetryPolicy.isIdempotent(m)).as(m).isFalse();
        }
        assertThat(RetryPolicy.isIdempotent(null)).isFalse();
    }

    @Test
    void bodyBuffering() {
        RetryPolicy p = new RetryPolicy(1, Set.of(), 1024);
        assertThat(p.buffersBody(0)).isTrue();
        assertThat(p.buffersBody(1024)).isTrue();
        assertThat(p.buffersBody(1025)).isFalse();
        assertThat(p.buffersBody(-1)).as("unknown length: decide while reading").isFalse();
        assertThat(new RetryPolicy(0, Set.of(), 1024).buffersBody(10)).as("retries off: never buffer").isFalse();
    }

    @Test
    void statusesAndConfiguration() {
        RetryPolicy p = new RetryPolicy(1, Set.of("Reset", " 503 ", "TIMEOUT"), 0);
        assertThat(p.retriesStatus(503)).isTrue();
        assertThat(p.retriesStatus(502)).isFalse();
        assertThat(p.retriesStatus(-1)).isFalse();
        assertThat(p.retriesStatus(1000)).isFalse();
        assertThat(p.retryable("GET", FailureKind.TIMEOUT, 0, false)).isTrue();
        assertThat(p.maxRetries()).isEqualTo(1);
        assertThat(p.toString()).contains("reset", "timeout", "503");
        assertThat(RetryPolicy.NONE.retryable("GET", FailureKind.CONNECT_FAILURE, 0, false)).isFalse();
        assertThatThrownBy(() -> new RetryPolicy(1, Set.of("sometimes"), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sometimes");
        assertThatThrownBy(() -> new RetryPolicy(1, Set.of("700"), 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RetryPolicy(-1, Set.of(), 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void outcomeOfAFailure() {
        assertThat(Outcome.of(FailureKind.CONNECT_FAILURE, 0)).isEqualTo(Outcome.CONNECT_FAILURE);
        assertThat(Outcome.of(FailureKind.RESET_AFTER_SENT, 0)).isEqualTo(Outcome.RESET);
        assertThat(Outcome.of(FailureKind.TIMEOUT, 0)).isEqualTo(Outcome.TIMEOUT);
        assertThat(Outcome.of(FailureKind.STATUS, 503)).isEqualTo(Outcome.HTTP_5XX);
        assertThat(Outcome.of(FailureKind.STATUS, 404)).isEqualTo(Outcome.SUCCESS);
        assertThat(Outcome.CANCELLED.outlierOutcome()).isNull();
        assertThat(Outcome.CANCELLED.isFailure()).isFalse();
    }
}
