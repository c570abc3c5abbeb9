package dev.turnpike.http;

import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** The IMF-fixdate for the Date header, formatted at most once per second per thread. */
public final class HttpDate {
    /** IMF-fixdate (RFC 9110 section 5.6.7): a two-digit day, unlike RFC_1123_DATE_TIME's "Tue, 3 Jun 2008". */
    private static final DateTimeFormatter FORMAT =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", java.util.Locale.US).withZone(ZoneOffset.UTC);

    private static final FastThreadLocal<HttpDate> CACHE = new FastThreadLocal<>() {
        @Override
        protected HttpDate initialValue() {
            return new HttpDate();
        }
    };

    private long second = Long.MIN_VALUE;
    private AsciiString value;

    private HttpDate() {}

    public static AsciiString now() {
        return CACHE.get().current();
    }

    public static String format(long epochMillis) {
        return FORMAT.format(Instant.ofEpochMilli(epochMillis));
    }

    private AsciiString current() {
        long nowSecond = System.currentTimeMillis() / 1000;
        if (nowSecond != second) {
            second = nowSecond;
            value = AsciiString.cached(FORMAT.format(Instant.ofEpochSecond(nowSecond)));
        }
        return value;
    }
}
