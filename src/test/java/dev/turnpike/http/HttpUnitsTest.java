package dev.turnpike.http;

import dev.turnpike.config.CidrBlock;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.InetAddress;
import java.time.ZoneOffset;
import java.util.List;
import java.time.ZonedDateTime;

import static org.assertj.core.api.Assertions.assertThat;

/** RequestTarget normalisation, Accept negotiation for error pages, the Date format and request IDs. */
class HttpUnitsTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "null", value = {
            "/|/|null|null",
            "/a/b?x=1|/a/b|x=1|null",
            "/a/../b|/b|null|null",
            "/a/./b/.|/a/b/|null|null",
            "/a/b/..|/a/|null|null",
            "/%7Euser/%41|/~user/A|null|null",
            "/a%2fb|/a%2Fb|null|null",
            "/%2e%2E/|null|null|null",
            "/../a|null|null|null",
            "/a/../../b|null|null|null",
            "/a%2|null|null|null",
            "/a%zz|null|null|null",
            "/a?|/a|''|null",
            "/...|/...|null|null",
            "http://Host.example:8080|/|null|Host.example:8080",
            "http://h.example/p?q|/p|q|h.example",
            "http://h.example?q|/|q|h.example",
            "http://user@h.example/|null|null|null",
            "*|*|null|null"})
    void requestTargets(String raw, String path, String query, String authority) {
        RequestTarget t = RequestTarget.parse(raw);
        if (path == null) {
            assertThat(t).isNull();
            return;
        }
        assertThat(t).isNotNull();
        assertThat(t.path()).isEqualTo(path);
        assertThat(t.query()).isEqualTo(query == null ? null : query);
        assertThat(t.authority()).isEqualTo(authority);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "null", value = {
            "null|false",
            "*/*|false",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8|false",
            "application/json|true",
            "application/problem+json|true",
            "text/html;q=0.5, application/json|true",
            "application/json;q=0.5, text/html|false",
            "application/json;q=0|false",
            "APPLICATION/JSON|true",
            "application/json, text/html|false",
            "application/xhtml+xml, application/json;q=0.9|false",
            "application/json;q=1.0, text/html;q=0.99|true"})
    void jsonIsChosenOnlyWhenRankedAboveHtml(String accept, boolean json) {
        assertThat(ContentNegotiation.prefersJson(accept)).isEqualTo(json);
    }

    @Test
    void dateIsAnImfFixdateWithATwoDigitDay() {
        long third = ZonedDateTime.of(2026, 3, 3, 4, 5, 6, 0, ZoneOffset.UTC).toInstant().toEpochMilli();
        assertThat(HttpDate.format(third)).isEqualTo("Tue, 03 Mar 2026 04:05:06 GMT");
        assertThat(HttpDate.now().toString()).matches("[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT");
    }

    @Test
    void requestIds() {
        assertThat(RequestIds.generate()).matches("[0-9a-f]{32}").isNotEqualTo(RequestIds.generate());
        assertThat(RequestIds.isAcceptable("abc-DEF_1.2:3")).isTrue();
        assertThat(RequestIds.isAcceptable("a".repeat(128))).isTrue();
        assertThat(RequestIds.isAcceptable("a".repeat(129))).isFalse();
        assertThat(RequestIds.isAcceptable("")).isFalse();
        assertThat(RequestIds.isAcceptable(null)).isFalse();
        assertThat(RequestIds.isAcceptable("a b")).isFalse();
        assertThat(RequestIds.isAcceptable("a\"b")).isFalse();
    }

    /** The client behind trusted proxies: X-Forwarded-For read from the right, trusted hops skipped. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "null", value = {
            // peer | X-Forwarded-For lines (';' separates lines) | client
            "203.0.113.9|198.51.100.1|203.0.113.9",            // untrusted peer: its header is not believed
            "10.0.0.2|null|10.0.0.2",                            // trusted peer, no header: the peer
            "10.0.0.2|198.51.100.1|198.51.100.1",
            "10.0.0.2|6.6.6.6, 198.51.100.1|198.51.100.1",       // what the client wrote itself is skipped
            "10.0.0.2|198.51.100.1, 10.0.0.7|198.51.100.1",      // a second trusted hop is skipped
            "10.0.0.2|198.51.100.1;10.0.0.7|198.51.100.1",       // across header lines, last line last
            "10.0.0.2|10.0.0.8, 10.0.0.7|10.0.0.8",              // all trusted: the leftmost
            "10.0.0.2|garbage, 10.0.0.7|10.0.0.7",               // a non-address stops the walk
            "10.0.0.2|2001:db8::1|2001:db8::1",
            "10.0.0.2|''|10.0.0.2"})
    void clientAddressBehindTrustedProxies(String peer, String xff, String client) throws Exception {
        HttpServices services = new HttpServices(null, null, null, null, null, List.of(CidrBlock.parse("10.0.0.0/8")));
        HttpHeaders headers = new DefaultHttpHeaders();
        if (xff != null) {
            for (String line : xff.split(";")) {
                headers.add("X-Forwarded-For", line);
            }
        }
        assertThat(services.clientAddress(InetAddress.getByName(peer), headers))
                .isEqualTo(InetAddress.getByName(client));
    }
}
