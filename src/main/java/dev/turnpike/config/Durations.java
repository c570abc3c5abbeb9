package dev.turnpike.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as written in configuration: one or more of {@code <integer><unit>} with units
 * {@code ms, s, m, h, d}, e.g. {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}, {@code 1m30s}.
 */
public final class Durations {
    private Durations() {}

    static final String EXPECTED = "a duration such as 500ms, 10s, 2m, 1h or 1m30s";

    private static final Pattern PART = Pattern.compile("([0-9]+)(ms|s|m|h|d)");
    private static final Pattern WHOLE = Pattern.compile("(?:[0-9]+(?:ms|s|m|h|d))+");

    /**
     * @throws IllegalArgumentException with a message saying what was expected
     */
    public static Duration parse(String text) {
        String s = text.strip();
        if (s.matches("[0-9]+")) {
            throw new IllegalArgumentException("a duration needs a unit, e.g. " + s + "s or " + s + "ms");
        }
        if (!WHOLE.matcher(s).matches()) {
            throw new IllegalArgumentException("expected " + EXPECTED + ", got '" + text + "'");
        }
        Matcher m = PART.matcher(s);
        long millis = 0;
        try {
            while (m.find()) {
                long n = Long.parseLong(m.group(1));
                long factor = switch (m.group(2)) {
                    case "ms" -> 1;
                    case "s" -> 1000;
                    case "m" -> 60_000;
                    case "h" -> 3_600_000;
                    default -> 86_400_000;
                };
                millis = Math.addExact(millis, Math.multiplyExact(n, factor));
            }
        } catch (ArithmeticException | NumberFormatException e) {
            throw new IllegalArgumentException("duration '" + text + "' is too long");
        }
        return Duration.ofMillis(millis);
    }

    /** Compact form for messages and docs: 90s → "1m30s". */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms == 0) {
            return "0s";
        }
        StringBuilder out = new StringBuilder();
        long h = ms / 3_600_000;
        ms %= 3_600_000;
        long m = ms / 60_000;
        ms %= 60_000;
        long s = ms / 1000;
        ms %= 1000;
        if (h > 0) out.append(h).append('h');
        if (m > 0) out.append(m).append('m');
        if (s > 0) out.append(s).append('s');
        if (ms > 0) out.append(ms).append("ms");
        return out.toString();
    }
}
