package dev.turnpike.http;

/**
 * RFC 9110's {@code tchar}: the characters of a token (field names, methods, parameter names), one definition for
 * the HTTP/1 decoders and for what Turnpike writes itself.
 */
public final class HttpTokens {
    private static final boolean[] TCHAR = new boolean[256];

    static {
        for (int c = '0'; c <= '9'; c++) {
            TCHAR[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            TCHAR[c] = true;
            TCHAR[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TCHAR[c] = true;
        }
    }

    private HttpTokens() {
    }

    /** Whether {@code c} (a char, or an unsigned byte value) is a tchar. */
    public static boolean isTchar(int c) {
        return c >= 0 && c < 256 && TCHAR[c];
    }
}
