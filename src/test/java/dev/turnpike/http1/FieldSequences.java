package dev.turnpike.http1;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Field sections as a keep-alive connection carries them: each head like the one before it, with a few lines changed.
 * The changes a decoder that reuses the previous head's fields must not miss are the small ones: a value of the same
 * length with one byte different, a name in another case, a line inserted or removed ahead of others, a line that no
 * longer fits what may be remembered.
 */
final class FieldSequences {
    private static final String[] NAMES = {"X-A", "x-a", "X-B", "Accept", "accept", "User-Agent", "Cookie", "Date",
        "Server", "Content-Type", "X-Long"};
    /** With values of at most 500 bytes, a head stays within 16 KiB. */
    private static final int MAX_FIELDS = 24;

    private FieldSequences() {
    }

    /** {@code heads} field sections, each a list of {name, value}, the first random and every next one a variation. */
    static List<List<String[]>> sequence(Random rnd, int heads) {
        List<List<String[]>> out = new ArrayList<>();
        List<String[]> fields = new ArrayList<>();
        for (int i = rnd.nextInt(20); i > 0; i--) {
            fields.add(field(rnd));
        }
        for (int h = 0; h < heads; h++) {
            out.add(copy(fields));
            int changes = rnd.nextInt(4); // 0: the same head again
            for (int c = 0; c < changes; c++) {
                vary(fields, rnd);
            }
        }
        return out;
    }

    private static void vary(List<String[]> fields, Random rnd) {
        int at = fields.isEmpty() ? 0 : rnd.nextInt(fields.size());
        switch (fields.isEmpty() ? 0 : rnd.nextInt(5)) {
            case 0 -> {
                if (fields.size() < MAX_FIELDS) {
                    fields.add(rnd.nextInt(fields.size() + 1), field(rnd));
                }
            }
            case 1 -> fields.remove(at);
            case 2 -> { // one byte of the value, the length kept
                String v = fields.get(at)[1];
                if (!v.isEmpty()) {
                    int i = rnd.nextInt(v.length());
                    char c = v.charAt(i) == 'a' ? 'b' : 'a';
                    fields.get(at)[1] = v.substring(0, i) + c + v.substring(i + 1);
                }
            }
            case 3 -> { // the name in another case
                String n = fields.get(at)[0];
                String lower = n.toLowerCase(Locale.ROOT);
                fields.get(at)[0] = n.equals(lower) ? n.toUpperCase(Locale.ROOT) : lower;
            }
            default -> fields.get(at)[1] = value(rnd);
        }
    }

    private static String[] field(Random rnd) {
        return new String[] {NAMES[rnd.nextInt(NAMES.length)], value(rnd)};
    }

    /** Mostly short values over two letters (equal lengths, different bytes), sometimes empty or long ones. */
    private static String value(Random rnd) {
        int len = switch (rnd.nextInt(8)) {
            case 0 -> 0;
            case 1 -> 200 + rnd.nextInt(301);
            default -> 1 + rnd.nextInt(4);
        };
        StringBuilder sb = new StringBuilder(len);
        for (int i = 0; i < len; i++) {
            sb.append(rnd.nextBoolean() ? 'a' : 'b');
        }
        return sb.toString();
    }

    private static List<String[]> copy(List<String[]> fields) {
        List<String[]> c = new ArrayList<>(fields.size());
        for (String[] f : fields) {
            c.add(f.clone());
        }
        return c;
    }

    /** The field lines of {@code fields}, each ended by CRLF, with varying whitespace around the values. */
    static String lines(List<String[]> fields, Random rnd) {
        StringBuilder sb = new StringBuilder();
        for (String[] f : fields) {
            String ows = rnd.nextInt(4) == 0 ? " \t" : " ";
            sb.append(f[0]).append(':').append(ows).append(f[1]).append(rnd.nextInt(4) == 0 ? " " : "").append("\r\n");
        }
        return sb.toString();
    }
}
