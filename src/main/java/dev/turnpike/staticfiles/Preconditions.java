package dev.turnpike.staticfiles;

import io.netty.handler.codec.DateFormatter;

import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/**
 * Conditional requests (RFC 9110 §13.2.2), evaluated in the RFC's order: If-Match, else If-Unmodified-Since
 * (412); then If-None-Match (304 for GET/HEAD, weak comparison, {@code *}), else If-Modified-Since (304).
 * Also If-Range (§13.1.5). Dates have one-second resolution, so modification times are compared in whole
 * seconds.
 */
public final class Preconditions {
    public enum Outcome { PROCEED, NOT_MODIFIED, PRECONDITION_FAILED }

    /** The request's conditional header values (each possibly null; repeated fields joined with ", "). */
    public record Conditions(String ifMatch, String ifNoneMatch, String ifModifiedSince, String ifUnmodifiedSince,
                             String ifRange) {}

    private Preconditions() {}

    /**
     * @param etag             the selected representation's strong entity tag, with quotes
     * @param lastModifiedSecs its modification time in epoch seconds
     * @param getOrHead        whether the method is GET or HEAD (a failed If-None-Match is then 304, not 412)
     */
    public static Outcome evaluate(Conditions c, String etag, long lastModifiedSecs, boolean getOrHead) {
        if (c.ifMatch() != null) {
            if (!matches(c.ifMatch(), etag, true)) {
                return Outcome.PRECONDITION_FAILED;
            }
        } else if (c.ifUnmodifiedSince() != null) {
            Long since = parseDate(c.ifUnmodifiedSince());
            if (since != null && lastModifiedSecs > since) {
                return Outcome.PRECONDITION_FAILED;
            }
        }
        if (c.ifNoneMatch() != null) {
            if (matches(c.ifNoneMatch(), etag, false)) {
                return getOrHead ? Outcome.NOT_MODIFIED : Outcome.PRECONDITION_FAILED;
            }
        } else if (getOrHead && c.ifModifiedSince() != null) {
            Long since = parseDate(c.ifModifiedSince());
            if (since != null && lastModifiedSecs <= since) {
                return Outcome.NOT_MODIFIED;
            }
        }
        return Outcome.PROCEED;
    }

    /**
     * Whether a Range may be honoured given If-Range: true without If-Range; with an entity tag only when it
     * strongly matches; with a date only when it equals Last-Modified exactly. Anything else means "send it all".
     */
    public static boolean rangeAllowed(String ifRange, String etag, long lastModifiedSecs) {
        if (ifRange == null) {
            return true;
        }
        String v = ifRange.strip();
        if (v.startsWith("\"") || v.startsWith("W/")) {
            List<String[]> tags = parseTags(v);
            return tags != null && tags.size() == 1 && tags.get(0)[0] == null
                    && tags.get(0)[1].equals(etag);
        }
        Long date = parseDate(v);
        return date != null && date == lastModifiedSecs;
    }

    /** If-Match (strong) or If-None-Match (weak) against our (strong) tag. A malformed list never matches. */
    static boolean matches(String header, String etag, boolean strong) {
        String v = header.strip();
        if (v.equals("*")) {
            return true;
        }
        List<String[]> tags = parseTags(v);
        if (tags == null) {
            return false;
        }
        for (String[] t : tags) {
            boolean weak = t[0] != null;
            if (strong && weak) {
                continue;
            }
            if (t[1].equals(etag)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Parses {@code 1#entity-tag}: each element {W/ or null, "opaque" with quotes}. Empty list elements are
     * allowed (RFC 9110 §5.6.1); anything else malformed gives null.
     */
    static List<String[]> parseTags(String v) {
        List<String[]> out = new ArrayList<>();
        int i = 0;
        int n = v.length();
        while (i < n) {
            char c = v.charAt(i);
            if (c == ' ' || c == '\t' || c == ',') {
                i++;
                continue;
            }
            String weak = null;
            if (c == 'W' && i + 1 < n && v.charAt(i + 1) == '/') {
                weak = "W/";
                i += 2;
            }
            if (i >= n || v.charAt(i) != '"') {
                return null;
            }
            int close = v.indexOf('"', i + 1);
            if (close < 0) {
                return null;
            }
            for (int k = i + 1; k < close; k++) {
                char e = v.charAt(k);
                if (e < 0x21 || e == 0x7F) {
                    return null;
                }
            }
            out.add(new String[] {weak, v.substring(i, close + 1)});
            i = close + 1;
            while (i < n && (v.charAt(i) == ' ' || v.charAt(i) == '\t')) {
                i++;
            }
            if (i < n && v.charAt(i) != ',') {
                return null;
            }
        }
        return out.isEmpty() ? null : out;
    }

    /** Epoch seconds of an HTTP-date (IMF-fixdate, RFC 850 or asctime), or null when it is not one. */
    static Long parseDate(String value) {
        Date d = DateFormatter.parseHttpDate(value.strip());
        return d == null ? null : Math.floorDiv(d.getTime(), 1000L);
    }
}
