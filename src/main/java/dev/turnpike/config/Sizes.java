package dev.turnpike.config;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte sizes as written in configuration: a plain integer (bytes) or a number followed by a unit
 * {@code B, KB, KiB, MB, MiB, GB, GiB} (case-insensitive; KB = 1000 bytes, KiB = 1024 bytes).
 */
public final class Sizes {
    private Sizes() {}

    static final String EXPECTED = "a size such as 512, 8KiB, 10MiB or 1GB (KB = 1000 bytes, KiB = 1024 bytes)";

    private static final Pattern SIZE = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)\\s*([A-Za-z]*)");
    private static final Map<String, Long> UNITS = Map.of(
            "", 1L, "b", 1L,
            "kb", 1000L, "kib", 1024L,
            "mb", 1000L * 1000, "mib", 1024L * 1024,
            "gb", 1000L * 1000 * 1000, "gib", 1024L * 1024 * 1024);

    /**
     * @throws IllegalArgumentException with a message saying what was expected
     */
    public static long parse(String text) {
        String s = text.strip();
        if (s.startsWith("-")) {
            throw new IllegalArgumentException("a size cannot be negative, got '" + text + "'");
        }
        Matcher m = SIZE.matcher(s);
        if (!m.matches()) {
            throw new IllegalArgumentException("expected " + EXPECTED + ", got '" + text + "'");
        }
        String unit = m.group(2).toLowerCase(Locale.ROOT);
        Long factor = UNITS.get(unit);
        if (factor == null) {
            String hint = switch (unit) {
                case "k" -> "; write KiB (1024) or KB (1000)";
                case "m" -> "; write MiB (1024²) or MB (1000²)";
                case "g" -> "; write GiB (1024³) or GB (1000³)";
                default -> Suggestions.closest(m.group(2), java.util.List.of("B", "KB", "KiB", "MB", "MiB", "GB", "GiB"))
                        .map(u -> "; did you mean '" + u + "'?").orElse("");
            };
            throw new IllegalArgumentException("unknown size unit '" + m.group(2) + "'" + hint
                    + "; expected " + EXPECTED);
        }
        BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(factor));
        if (bytes.stripTrailingZeros().scale() > 0) {
            throw new IllegalArgumentException("a size must be a whole number of bytes, got '" + text + "'");
        }
        try {
            return bytes.longValueExact();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("size '" + text + "' is too large");
        }
    }

    /** Human form for messages: 1048576 → "1MiB", 1000 → "1000 bytes". */
    public static String format(long bytes) {
        if (bytes >= 1024L * 1024 * 1024 && bytes % (1024L * 1024 * 1024) == 0) {
            return bytes / (1024L * 1024 * 1024) + "GiB";
        }
        if (bytes >= 1024L * 1024 && bytes % (1024L * 1024) == 0) {
            return bytes / (1024L * 1024) + "MiB";
        }
        if (bytes >= 1024 && bytes % 1024 == 0) {
            return bytes / 1024 + "KiB";
        }
        return bytes + (bytes == 1 ? " byte" : " bytes");
    }
}
