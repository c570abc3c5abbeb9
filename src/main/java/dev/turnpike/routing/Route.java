package dev.turnpike.routing;

import dev.turnpike.config.ErrorPages;
import dev.turnpike.config.PathMatch;
import dev.turnpike.config.SourcePosition;
import dev.turnpike.http.Handler;
import dev.turnpike.metrics.RouteMeter;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A compiled route: its conditions, ready to test against a request, the handler that answers and the metrics it
 * records into (null when compiled without metrics).
 */
public record Route(String name, PathMatch path, Set<HttpMethod> methods, List<Map.Entry<String, String>> headers,
                    Handler handler, ErrorPages errorPages, SourcePosition position, int fileIndex, RouteMeter meter) {

    boolean matchesPath(String requestPath) {
        return switch (path) {
            case null -> true;
            case PathMatch.Exact(String p) -> requestPath.equals(p);
            case PathMatch.Prefix(String p) -> requestPath.startsWith(p);
            case PathMatch.Regex(var pattern) -> pattern.matcher(requestPath).find();
        };
    }

    boolean matchesHeaders(HttpHeaders requestHeaders) {
        for (int i = 0; i < headers.size(); i++) {
            Map.Entry<String, String> h = headers.get(i);
            String wanted = h.getValue();
            if (wanted.equals("*")) {
                if (!requestHeaders.contains(h.getKey())) {
                    return false;
                }
            } else if (!hasExactValue(requestHeaders, h.getKey(), wanted)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether one field line {@code name} has exactly {@code wanted} as its value (case-sensitive, after the
     * parser's whitespace trim). Not split on commas: {@code X-Canary: 0, 1} does not match "1".
     */
    private static boolean hasExactValue(HttpHeaders requestHeaders, String name, String wanted) {
        java.util.Iterator<? extends CharSequence> it = requestHeaders.valueCharSequenceIterator(name);
        while (it.hasNext()) {
            if (wanted.contentEquals(it.next())) {
                return true;
            }
        }
        return false;
    }

    boolean matchesMethod(HttpMethod method) {
        return methods.isEmpty() || methods.contains(method)
                || (method == HttpMethod.HEAD && methods.contains(HttpMethod.GET));
    }

    /**
     * Precedence: exact path, then regex, then longest prefix, then no path (see docs/configuration.md). Regex
     * above prefix is nginx's order, so a catch-all {@code /*} never hides a regex route.
     */
    int kindRank() {
        return switch (path) {
            case null -> 0;
            case PathMatch.Prefix p -> 1;
            case PathMatch.Regex r -> 2;
            case PathMatch.Exact e -> 3;
        };
    }

    int prefixLength() {
        return path instanceof PathMatch.Prefix(String p) ? p.length() : 0;
    }

    /** A methods list is one condition however many methods it names; each header is one. */
    int conditionCount() {
        return (methods.isEmpty() ? 0 : 1) + headers.size();
    }
}
