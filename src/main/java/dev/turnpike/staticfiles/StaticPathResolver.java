package dev.turnpike.staticfiles;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Maps a normalised request path ({@link dev.turnpike.http.Exchange#path()}) to file-system segments below the
 * root, without touching the file system.
 *
 * <p>Policy, decided on the request bytes alone so it can never reveal anything about the disk:
 * <ul>
 *   <li>{@link Rejection#MALFORMED} (answered 400): a segment that, fully percent-decoded, contains a slash
 *       ({@code %2F}), a backslash (raw or {@code %5C}), NUL or any other control character, is not valid UTF-8,
 *       or is {@code .} / {@code ..}. No file can have such a name, so these are malformed requests, not
 *       misses.</li>
 *   <li>{@link Rejection#HIDDEN} (answered exactly like a missing file): a segment starting with '.', unless
 *       show_hidden is on; the first segment {@code .well-known} is always allowed (ACME, RFC 8615).</li>
 * </ul>
 * Empty segments ({@code //}) are ignored, like nginx's merge_slashes.
 */
public final class StaticPathResolver {
    public static final String WELL_KNOWN = ".well-known";

    public sealed interface Result {}

    /**
     * @param segments      decoded path segments below the root (empty for the root itself)
     * @param trailingSlash whether the request path ended with '/'
     */
    public record Mapped(List<String> segments, boolean trailingSlash) implements Result {}

    public enum Rejection implements Result { MALFORMED, HIDDEN }

    private StaticPathResolver() {}

    public static Result resolve(String path, Optional<String> stripPrefix, boolean showHidden) {
        if (path == null || path.isEmpty() || path.charAt(0) != '/') {
            return Rejection.MALFORMED;
        }
        boolean trailingSlash = path.endsWith("/");
        String p = stripPrefix.map(prefix -> strip(path, prefix)).orElse(path);
        List<String> segments = new ArrayList<>();
        for (String raw : p.split("/")) {
            if (raw.isEmpty()) {
                continue;
            }
            String s = decodeSegment(raw);
            if (s == null) {
                return Rejection.MALFORMED;
            }
            segments.add(s);
        }
        if (!showHidden && isHidden(segments)) {
            return Rejection.HIDDEN;
        }
        return new Mapped(List.copyOf(segments), trailingSlash);
    }

    /** Removes {@code prefix} on a segment boundary; a path that does not start with it is left as it is. */
    static String strip(String path, String prefix) {
        String pre = prefix;
        while (pre.endsWith("/")) {
            pre = pre.substring(0, pre.length() - 1);
        }
        if (pre.isEmpty() || !path.startsWith(pre)) {
            return path;
        }
        if (path.length() == pre.length()) {
            return "/";
        }
        return path.charAt(pre.length()) == '/' ? path.substring(pre.length()) : path;
    }

    /** Whether any segment is a dotfile other than a leading {@code .well-known}. */
    static boolean isHidden(List<String> segments) {
        for (int i = 0; i < segments.size(); i++) {
            String s = segments.get(i);
            if (s.startsWith(".") && !(i == 0 && s.equals(WELL_KNOWN))) {
                return true;
            }
        }
        return false;
    }

    /** Fully percent-decodes one segment as UTF-8; null when the result cannot be a file name. */
    static String decodeSegment(String raw) {
        String s;
        if (raw.indexOf('%') < 0) {
            s = raw;
        } else {
            ByteBuffer bytes = ByteBuffer.allocate(raw.length() * 3);
            for (int i = 0; i < raw.length(); i++) {
                char c = raw.charAt(i);
                if (c == '%') {
                    if (i + 2 >= raw.length()) {
                        return null;
                    }
                    int hi = Character.digit(raw.charAt(i + 1), 16);
                    int lo = Character.digit(raw.charAt(i + 2), 16);
                    if (hi < 0 || lo < 0) {
                        return null;
                    }
                    bytes.put((byte) (hi * 16 + lo));
                    i += 2;
                } else if (c < 0x80) {
                    bytes.put((byte) c);
                } else {
                    bytes.put(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
                }
            }
            bytes.flip();
            try {
                CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(bytes);
                s = chars.toString();
            } catch (CharacterCodingException e) {
                return null;
            }
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '/' || c == '\\' || Character.isISOControl(c)) {
                return null;
            }
        }
        if (s.equals(".") || s.equals("..")) {
            return null;
        }
        return s;
    }
}
