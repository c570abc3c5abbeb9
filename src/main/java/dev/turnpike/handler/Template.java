package dev.turnpike.handler;

import dev.turnpike.http.Exchange;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A string with placeholders such as {@code https://{host}{uri}}, compiled once at load time and expanded
 * per request without parsing. Only {@code {identifier}} is a placeholder, so JSON and CSS text needs no
 * escaping; an unknown identifier is a load error rather than silently literal.
 */
public final class Template {

    /** Every placeholder a template may use; documented in docs/configuration.md. */
    public static final Set<String> NAMES = Set.of(
            "scheme", "host", "port", "path", "query", "uri", "method", "request_id", "remote_addr");

    private final String text;
    private final Part[] parts;

    private Template(String text, Part[] parts) {
        this.text = text;
        this.parts = parts;
    }

    /**
     * @throws IllegalArgumentException naming the unknown or unterminated placeholder
     */
    public static Template compile(String text) {
        List<Part> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            int end = c == '{' ? identifierEnd(text, i + 1) : -1;
            if (end < 0 || end >= text.length() || text.charAt(end) != '}') {
                // Only {identifier} is a placeholder; any other brace (JSON, CSS) is literal text.
                literal.append(c);
                i++;
                continue;
            }
            String name = text.substring(i + 1, end);
            if (!NAMES.contains(name)) {
                throw new IllegalArgumentException("unknown placeholder {" + name + "}; known: "
                        + String.join(", ", NAMES.stream().sorted().map(n -> "{" + n + "}").toList()));
            }
            if (!literal.isEmpty()) {
                parts.add(new Literal(literal.toString()));
                literal.setLength(0);
            }
            parts.add(new Placeholder(name));
            i = end + 1;
        }
        if (!literal.isEmpty()) {
            parts.add(new Literal(literal.toString()));
        }
        return new Template(text, parts.toArray(Part[]::new));
    }

    /** Index just past a run of [a-z_] starting at {@code from}, or -1 when the run is empty. */
    private static int identifierEnd(String text, int from) {
        int i = from;
        while (i < text.length() && ((text.charAt(i) >= 'a' && text.charAt(i) <= 'z') || text.charAt(i) == '_')) {
            i++;
        }
        return i == from ? -1 : i;
    }

    public boolean isConstant() {
        return parts.length == 0 || (parts.length == 1 && parts[0] instanceof Literal);
    }

    public String expand(Exchange exchange) {
        if (parts.length == 1 && parts[0] instanceof Literal(String value)) {
            return value;
        }
        StringBuilder out = new StringBuilder(text.length() + 64);
        for (Part part : parts) {
            switch (part) {
                case Literal(String value) -> out.append(value);
                case Placeholder(String name) -> appendValue(out, name, exchange);
            }
        }
        return out.toString();
    }

    private static void appendValue(StringBuilder out, String name, Exchange exchange) {
        switch (name) {
            case "scheme" -> out.append(exchange.scheme());
            case "host" -> out.append(exchange.host());
            case "port" -> out.append(exchange.localAddress().getPort());
            case "path" -> out.append(exchange.path());
            case "query" -> out.append(exchange.query() == null ? "" : exchange.query());
            case "uri" -> {
                out.append(exchange.path());
                if (exchange.query() != null) {
                    out.append('?').append(exchange.query());
                }
            }
            case "method" -> out.append(exchange.method().name());
            case "request_id" -> out.append(exchange.requestId());
            case "remote_addr" -> out.append(exchange.remoteAddress().getAddress().getHostAddress());
            default -> throw new IllegalStateException(name);
        }
    }

    @Override
    public String toString() {
        return text;
    }

    private sealed interface Part permits Literal, Placeholder {}

    private record Literal(String value) implements Part {}

    private record Placeholder(String name) implements Part {}
}
