package dev.turnpike.staticfiles;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The Range header (RFC 9110 §14.1.2) for one representation size.
 *
 * <p>Choices: a header that is not {@code bytes=…}, is syntactically malformed, or has a range whose last
 * position is before its first is ignored (the whole representation is sent, which RFC 9110 §14.2 always
 * allows). So is any Range on an empty representation (a 416 for {@code bytes=0-} on an empty file helps no
 * one). More than {@link #MAX_RANGES} range specs is treated as abuse and also answered with the whole
 * representation, like nginx's {@code max_ranges}: 200 is always a correct answer, whereas 416 would falsely
 * claim the ranges cannot be satisfied. Overlapping and adjacent ranges are coalesced; the parts keep the order
 * in which the client first asked for them (§14.3).
 */
public final class ByteRanges {
    public static final int MAX_RANGES = 16;

    /** An inclusive byte range. */
    public record Range(long start, long end) {
        public long length() {
            return end - start + 1;
        }
    }

    public sealed interface Result {}

    /** Send the whole representation (no Range, or one that must be ignored). */
    public record Ignore() implements Result {}

    /** 416: none of the ranges overlaps the representation. */
    public record Unsatisfiable() implements Result {}

    /** 206 with these disjoint ranges, in the order to send them. */
    public record Satisfiable(List<Range> ranges) implements Result {}

    private static final Ignore IGNORE = new Ignore();
    private static final Unsatisfiable UNSATISFIABLE = new Unsatisfiable();

    private ByteRanges() {}

    public static Result parse(String header, long size) {
        if (header == null || size <= 0) {
            return IGNORE;
        }
        String h = header.strip();
        if (h.length() < 6 || !h.regionMatches(true, 0, "bytes=", 0, 6)) {
            return IGNORE;
        }
        List<long[]> specs = new ArrayList<>(); // {first, last} with first = -1 for a suffix, last = -1 if open
        int i = 6;
        int n = h.length();
        while (i <= n) {
            int comma = h.indexOf(',', i);
            int end = comma < 0 ? n : comma;
            String spec = trimOws(h, i, end);
            if (!spec.isEmpty()) {
                long[] parsed = parseSpec(spec);
                if (parsed == null) {
                    return IGNORE;
                }
                specs.add(parsed);
                if (specs.size() > MAX_RANGES) {
                    return IGNORE;
                }
            }
            i = end + 1;
        }
        if (specs.isEmpty()) {
            return IGNORE;
        }
        List<Range> satisfiable = new ArrayList<>(specs.size());
        for (long[] s : specs) {
            if (s[0] < 0) {
                long suffix = s[1];
                if (suffix > 0) {
                    satisfiable.add(new Range(Math.max(0, size - suffix), size - 1));
                }
            } else if (s[0] < size) {
                long last = s[1] < 0 ? size - 1 : Math.min(s[1], size - 1);
                satisfiable.add(new Range(s[0], last));
            }
        }
        if (satisfiable.isEmpty()) {
            return UNSATISFIABLE;
        }
        return new Satisfiable(coalesce(satisfiable));
    }

    /** Merges overlapping and adjacent ranges; each merged range goes where its earliest member was asked. */
    static List<Range> coalesce(List<Range> ranges) {
        if (ranges.size() == 1) {
            return List.of(ranges.get(0));
        }
        Integer[] order = new Integer[ranges.size()];
        for (int k = 0; k < order.length; k++) {
            order[k] = k;
        }
        java.util.Arrays.sort(order, Comparator.comparingLong(k -> ranges.get(k).start()));
        List<long[]> merged = new ArrayList<>(); // {start, end, firstAskedIndex}
        for (int k : order) {
            Range r = ranges.get(k);
            long[] last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (last != null && r.start() <= last[1] + 1) {
                last[1] = Math.max(last[1], r.end());
                last[2] = Math.min(last[2], k);
            } else {
                merged.add(new long[] {r.start(), r.end(), k});
            }
        }
        merged.sort(Comparator.comparingLong(m -> m[2]));
        List<Range> out = new ArrayList<>(merged.size());
        for (long[] m : merged) {
            out.add(new Range(m[0], m[1]));
        }
        return List.copyOf(out);
    }

    /** {@code first-last}, {@code first-} or {@code -suffix}; null when malformed or last &lt; first. */
    private static long[] parseSpec(String spec) {
        int dash = spec.indexOf('-');
        if (dash < 0 || spec.indexOf('-', dash + 1) >= 0) {
            return null;
        }
        String a = spec.substring(0, dash);
        String b = spec.substring(dash + 1);
        if (a.isEmpty()) {
            long suffix = digits(b);
            return suffix < 0 ? null : new long[] {-1, suffix};
        }
        long first = digits(a);
        if (first < 0) {
            return null;
        }
        if (b.isEmpty()) {
            return new long[] {first, -1};
        }
        long last = digits(b);
        if (last < 0 || last < first) {
            return null;
        }
        return new long[] {first, last};
    }

    /** A non-empty run of DIGITs; values beyond a long saturate (they are valid, just far away). -1 if not digits. */
    private static long digits(String s) {
        if (s.isEmpty()) {
            return -1;
        }
        long v = 0;
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            if (c < '0' || c > '9') {
                return -1;
            }
            if (v > (Long.MAX_VALUE - 9) / 10) {
                v = Long.MAX_VALUE - 1;
            } else {
                v = v * 10 + (c - '0');
            }
        }
        return v;
    }

    private static String trimOws(String s, int from, int to) {
        while (from < to && (s.charAt(from) == ' ' || s.charAt(from) == '\t')) {
            from++;
        }
        while (to > from && (s.charAt(to - 1) == ' ' || s.charAt(to - 1) == '\t')) {
            to--;
        }
        return s.substring(from, to);
    }
}
