package dev.turnpike.accesslog;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** How an entry becomes one line of the access log. */
sealed interface AccessLogFormat {

    void append(StringBuilder sb, AccessLogEntry e);

    /**
     * NCSA combined, then the request ID and the request time in seconds:
     * {@code 127.0.0.1 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.0" "3f2a…" 0.001}.
     * Quoted fields escape {@code "}, {@code \} and non-printable bytes as {@code \xHH}, as nginx does.
     */
    final class Combined implements AccessLogFormat {
        private static final DateTimeFormatter TIME =
                DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.US).withZone(ZoneOffset.UTC);

        @Override
        public void append(StringBuilder sb, AccessLogEntry e) {
            sb.append(e.clientAddress()).append(" - - [").append(TIME.format(Instant.ofEpochMilli(e.startMillis())))
                    .append("] \"");
            if (e.method().equals("-")) {
                sb.append('-'); // rejected before a request line could be read: nginx logs "-" too
            } else {
                escape(sb, e.method());
                sb.append(' ');
                escape(sb, e.target());
                sb.append(' ');
                escape(sb, e.protocol());
            }
            sb.append("\" ").append(e.status()).append(' ').append(e.bytesSent()).append(" \"");
            escape(sb, e.referer() == null ? "-" : e.referer());
            sb.append("\" \"");
            escape(sb, e.userAgent() == null ? "-" : e.userAgent());
            sb.append("\" \"");
            escape(sb, e.requestId());
            sb.append("\" ");
            long micros = e.durationNanos() / 1000;
            sb.append(micros / 1_000_000).append('.');
            String frac = Long.toString((micros / 1000) % 1000);
            sb.append("000", 0, 3 - frac.length()).append(frac);
        }

        private static void escape(StringBuilder sb, String s) {
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7F) {
                    sb.append("\\x").append(Character.forDigit((c >> 4) & 0xF, 16)).append(Character.forDigit(c & 0xF, 16));
                } else {
                    sb.append(c);
                }
            }
        }
    }

    /** One JSON object per line, with every field of the entry. */
    final class Json implements AccessLogFormat {
        private static final JsonFactory FACTORY = new JsonFactory();

        @Override
        public void append(StringBuilder sb, AccessLogEntry e) {
            StringWriter w = new StringWriter(256);
            try (JsonGenerator g = FACTORY.createGenerator(w)) {
                g.writeStartObject();
                g.writeStringField("time", Instant.ofEpochMilli(e.startMillis()).toString());
                g.writeStringField("remote_addr", e.clientAddress());
                g.writeStringField("method", e.method());
                g.writeStringField("target", e.target());
                g.writeStringField("protocol", e.protocol());
                g.writeNumberField("status", e.status());
                g.writeNumberField("bytes_sent", e.bytesSent());
                g.writeNumberField("duration_ms", e.durationNanos() / 1_000_000.0);
                g.writeStringField("host", e.host());
                g.writeStringField("request_id", e.requestId());
                writeOptional(g, "referer", e.referer());
                writeOptional(g, "user_agent", e.userAgent());
                writeOptional(g, "route", e.route());
                writeOptional(g, "upstream", e.upstream());
                g.writeEndObject();
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            sb.append(w.getBuffer());
        }

        private static void writeOptional(JsonGenerator g, String name, String value) throws IOException {
            if (value != null) {
                g.writeStringField(name, value);
            }
        }
    }
}
