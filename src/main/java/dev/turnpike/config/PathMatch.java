package dev.turnpike.config;

import java.util.regex.Pattern;

/** How a route matches the request path. */
public sealed interface PathMatch {

    /** {@code /health}: the path equals the value. */
    record Exact(String path) implements PathMatch {}

    /** {@code /api/*}: the path starts with the value ({@code /api/}). {@code /*} matches every path. */
    record Prefix(String prefix) implements PathMatch {}

    /** {@code regex: ^/v[0-9]+/}: the pattern is found in the path. */
    record Regex(Pattern pattern) implements PathMatch {
        @Override
        public boolean equals(Object o) {
            return o instanceof Regex r && r.pattern.pattern().equals(pattern.pattern());
        }

        @Override
        public int hashCode() {
            return pattern.pattern().hashCode();
        }
    }
}
