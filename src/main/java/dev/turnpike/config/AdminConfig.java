package dev.turnpike.config;

import java.util.Locale;
import java.util.Optional;

/**
 * The admin API's listener (see docs/operations.md): off unless the configuration has an {@code admin} section.
 *
 * @param enabled  whether the admin listener runs
 * @param host     address to bind; loopback unless a token is set
 * @param port     TCP port; 0 picks an ephemeral port (tests)
 * @param token    when present, every admin request must carry {@code Authorization: Bearer <token>}
 * @param position where the section is, for messages
 */
public record AdminConfig(boolean enabled, String host, int port, Optional<String> token, SourcePosition position) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 9090;

    public static AdminConfig disabled() {
        return new AdminConfig(false, DEFAULT_HOST, DEFAULT_PORT, Optional.empty(), SourcePosition.NONE);
    }

    public String address() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    /** Whether {@code host} can only be reached from this machine: 127.0.0.0/8, ::1 or localhost. */
    public static boolean isLoopback(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return h.equals("localhost") || h.equals("::1") || h.equals("0:0:0:0:0:0:0:1")
                || h.matches("127\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}");
    }

    /** The token never appears in logs or messages, even when the record is printed. */
    @Override
    public String toString() {
        return "AdminConfig[enabled=" + enabled + ", address=" + address() + ", token="
                + (token.isPresent() ? "<redacted>" : "none") + "]";
    }
}
