package dev.turnpike.upstream.lb;

import java.util.Objects;

/**
 * The outcome of a pick. Instances are preallocated per endpoint (and per endpoint and sticky cookie), so a pick
 * allocates nothing; compare fields, never identities.
 *
 * @see LoadBalancer#pick(PickContext)
 */
public final class PickResult {
    private final EndpointState endpoint;
    private final boolean panic;
    private final String setCookieName;
    private final String setCookieValue;

    PickResult(EndpointState endpoint, boolean panic, String setCookieName, String setCookieValue) {
        this.endpoint = endpoint;
        this.panic = panic;
        this.setCookieName = setCookieName;
        this.setCookieValue = setCookieValue;
    }

    /** The preallocated result for {@code endpoint} (for custom {@link LoadBalancer}s): no allocation. */
    public static PickResult of(EndpointState endpoint, boolean panic) {
        return panic ? endpoint.panicResult : endpoint.result;
    }

    /** A result that also sets a cookie (allocates: custom balancers should cache these per endpoint). */
    public static PickResult withCookie(EndpointState endpoint, boolean panic, String cookieName, String cookieValue) {
        return new PickResult(endpoint, panic, Objects.requireNonNull(cookieName, "cookieName"),
                Objects.requireNonNull(cookieValue, "cookieValue"));
    }

    public EndpointState endpoint() {
        return endpoint;
    }

    /**
     * Nothing was up, so the pick was made among all non-draining endpoints (panic mode): worth a metric and a
     * rate-limited log line, the request still goes out.
     */
    public boolean panic() {
        return panic;
    }

    /**
     * The name of the cookie the response must set (sticky sessions: the client was not pinned yet or its pinned
     * endpoint was unavailable), or null when no cookie is to be set. Attributes (Path, Max-Age, HttpOnly, Secure,
     * SameSite) are the HTTP layer's.
     */
    public String setCookieName() {
        return setCookieName;
    }

    /** The value of the cookie to set: an opaque id of {@link #endpoint()}, never its address. */
    public String setCookieValue() {
        return setCookieValue;
    }

    @Override
    public String toString() {
        return "PickResult{" + endpoint.endpoint().authority() + (panic ? ", panic" : "")
                + (setCookieName != null ? ", set-cookie " + setCookieName + "=" + setCookieValue : "") + "}";
    }
}
