package dev.turnpike.http;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

/** Request IDs: a client-supplied one is kept when it is short and plain, otherwise a new one is made. */
public final class RequestIds {
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_LENGTH = 128;

    private RequestIds() {}

    /** 128 random bits as 32 hex characters; not a security token, just unique enough to correlate logs. */
    public static String generate() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        byte[] out = new byte[32];
        long hi = r.nextLong();
        long lo = r.nextLong();
        for (int i = 0; i < 16; i++) {
            out[15 - i] = HEX[(int) (hi >>> (i * 4)) & 0xF];
            out[31 - i] = HEX[(int) (lo >>> (i * 4)) & 0xF];
        }
        // Latin-1 bytes become the String's own compact form: one copy, no char[] on the way.
        return new String(out, StandardCharsets.ISO_8859_1);
    }

    /** Whether a client-supplied ID is safe to log and echo: 1..128 characters of [A-Za-z0-9._:-]. */
    public static boolean isAcceptable(CharSequence id) {
        if (id == null || id.isEmpty() || id.length() > MAX_LENGTH) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || c == '.' || c == ':';
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}
