package dev.turnpike.upstream.cluster;

import dev.turnpike.config.ClusterConfig;
import dev.turnpike.upstream.lb.PickResult;

import java.time.Duration;
import java.util.Objects;

/**
 * The {@code Set-Cookie} of a {@code sticky} cluster: the balancer says which cookie to set
 * ({@link PickResult#setCookieName()}, {@link PickResult#setCookieValue()}), this adds the attributes. The value is an
 * opaque id of the endpoint, never its address.
 *
 * <p>Attributes: {@code Path=/}, {@code HttpOnly}, {@code SameSite=Lax}, {@code Max-Age} when {@code max_age} is
 * configured (else a session cookie), and {@code Secure} when the client connection is TLS.
 */
public final class StickyCookie {
    private final String name;
    private final String suffix;
    private final String secureSuffix;

    StickyCookie(String name, Duration maxAge) {
        this.name = Objects.requireNonNull(name, "name");
        String s = "; Path=/" + (maxAge == null ? "" : "; Max-Age=" + Math.max(0, maxAge.toSeconds()))
                + "; HttpOnly; SameSite=Lax";
        this.suffix = s;
        this.secureSuffix = s + "; Secure";
    }

    public static StickyCookie of(ClusterConfig.Sticky sticky) {
        return new StickyCookie(sticky.cookie(), sticky.maxAge().orElse(null));
    }

    /** The cookie's name. */
    public String name() {
        return name;
    }

    /**
     * The {@code Set-Cookie} header value the response must carry for this pick, or null when the pick sets no
     * cookie (the client is already pinned to the endpoint that was picked). Allocates only when a cookie is set.
     *
     * @param secure whether the client connection is TLS
     */
    public String headerValue(PickResult pick, boolean secure) {
        if (pick == null || pick.setCookieName() == null) {
            return null;
        }
        return pick.setCookieName() + "=" + pick.setCookieValue() + (secure ? secureSuffix : suffix);
    }

    @Override
    public String toString() {
        return "StickyCookie{" + name + suffix + "}";
    }
}
