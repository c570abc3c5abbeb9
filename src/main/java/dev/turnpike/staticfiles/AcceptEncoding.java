package dev.turnpike.staticfiles;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which precompressed variants a client accepts, from Accept-Encoding (RFC 9110 §12.5.3): q-values are honoured,
 * {@code q=0} means "not acceptable", {@code *} covers codings not named, {@code x-gzip} is gzip. Without the
 * header nothing compressed is sent. On equal q, brotli is preferred (smaller).
 */
public final class AcceptEncoding {
    public enum Coding {
        BR("br", ".br"), GZIP("gzip", ".gz");

        public final String token;
        public final String suffix;

        Coding(String token, String suffix) {
            this.token = token;
            this.suffix = suffix;
        }
    }

    private AcceptEncoding() {}

    /** Acceptable codings among br and gzip, most preferred first; empty when none is. */
    public static List<Coding> preferred(String header) {
        if (header == null || header.isBlank()) {
            return List.of();
        }
        double br = -1;
        double gzip = -1;
        double star = -1;
        for (String element : header.split(",")) {
            String[] params = element.split(";");
            String coding = params[0].strip().toLowerCase(Locale.ROOT);
            if (coding.isEmpty()) {
                continue;
            }
            double q = 1.0;
            for (int i = 1; i < params.length; i++) {
                String p = params[i].strip();
                if (p.length() >= 2 && (p.charAt(0) == 'q' || p.charAt(0) == 'Q') && p.charAt(1) == '=') {
                    q = qValue(p.substring(2).strip());
                }
            }
            switch (coding) {
                case "br" -> br = Math.max(br, q);
                case "gzip", "x-gzip" -> gzip = Math.max(gzip, q);
                case "*" -> star = Math.max(star, q);
                default -> { }
            }
        }
        if (br < 0) {
            br = star;
        }
        if (gzip < 0) {
            gzip = star;
        }
        List<Coding> out = new ArrayList<>(2);
        if (br > 0 && br >= gzip) {
            out.add(Coding.BR);
            if (gzip > 0) {
                out.add(Coding.GZIP);
            }
        } else if (gzip > 0) {
            out.add(Coding.GZIP);
            if (br > 0) {
                out.add(Coding.BR);
            }
        }
        return out;
    }

    /** RFC 9110 qvalue: 0 to 1 with up to three decimals; anything malformed counts as 0 (not acceptable). */
    private static double qValue(String s) {
        if (s.isEmpty() || s.length() > 5 || !(s.charAt(0) == '0' || s.charAt(0) == '1')) {
            return 0;
        }
        try {
            double q = Double.parseDouble(s);
            return q >= 0 && q <= 1 ? q : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
