package dev.turnpike.config;

import java.util.Map;
import java.util.Optional;

/**
 * Custom bodies for errors Turnpike itself generates. Keys are a status ({@code "404"}) or a class
 * ({@code "5xx"}); the exact status wins over its class. Files are read once at load time.
 */
public record ErrorPages(Map<String, Page> pages) {
    public static final ErrorPages NONE = new ErrorPages(Map.of());

    public ErrorPages {
        pages = Map.copyOf(pages);
    }

    /** A page in HTML, JSON or both; the client's Accept header chooses. Bodies are already loaded. */
    public record Page(Optional<String> html, Optional<String> json) {}

    public Optional<Page> find(int status) {
        Page p = pages.get(Integer.toString(status));
        if (p == null) {
            p = pages.get((status / 100) + "xx");
        }
        return Optional.ofNullable(p);
    }

    public boolean isEmpty() {
        return pages.isEmpty();
    }
}
