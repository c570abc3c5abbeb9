package dev.turnpike.logging;

import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import org.slf4j.event.KeyValuePair;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The server log's encoder: one line per event, either text for people (the {@code pattern}, with {@code %causes}
 * for an exception on the same line) or one flat JSON object for log shippers:
 *
 * <pre>{@code {"time":"2026-11-22T07:07:56.322Z","level":"INFO","logger":"dev.turnpike.server.TurnpikeServer",
 * "thread":"main","message":"listener public up on http://127.0.0.1:8080","event":"listener_up",
 * "listener":"public","address":"127.0.0.1:8080"}}</pre>
 *
 * <p>The key-value pairs of an event (SLF4J's {@code addKeyValue}) become top-level fields, so a shipper can filter on
 * {@code event}; an exception becomes {@code error} (the one-line summary) and {@code stack} (the whole trace). The
 * format can be switched while running ({@link #setFormat}); {@link ServerLog} does that for the configuration.
 */
public final class ServerLogEncoder extends EncoderBase<ILoggingEvent> {
    private static final JsonFactory JSON = new JsonFactory();
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);
    /** Fields the encoder writes itself; a key-value pair of the same name is left out rather than duplicated. */
    private static final Set<String> RESERVED = Set.of("time", "level", "logger", "thread", "message", "error", "stack");
    private static final byte[] NONE = new byte[0];

    private volatile ServerLog.Format format = ServerLog.Format.TEXT;
    private String pattern;
    private PatternLayout layout;
    private final LogCauses causes = new LogCauses();

    /** From logback.xml: {@code text} or {@code json}; anything else logs as text, with a warning. */
    public void setFormat(String value) {
        this.format = ServerLog.Format.parse(value);
    }

    public void setFormat(ServerLog.Format format) {
        this.format = format;
    }

    public ServerLog.Format getFormat() {
        return format;
    }

    /** The text format's layout. */
    public void setPattern(String pattern) {
        this.pattern = pattern;
    }

    @Override
    public void start() {
        if (pattern == null) {
            addError("ServerLogEncoder needs a <pattern> for the text format");
            return;
        }
        layout = new PatternLayout();
        layout.setContext(getContext());
        layout.setPattern(pattern);
        layout.getInstanceConverterMap().put("causes", LogCauses::new);
        layout.start();
        super.start();
    }

    @Override
    public void stop() {
        if (layout != null) {
            layout.stop();
        }
        super.stop();
    }

    @Override
    public byte[] headerBytes() {
        return NONE;
    }

    @Override
    public byte[] footerBytes() {
        return NONE;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        String line = format == ServerLog.Format.JSON ? json(event) : layout.doLayout(event);
        return line.getBytes(StandardCharsets.UTF_8);
    }

    String json(ILoggingEvent event) {
        StringWriter out = new StringWriter(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("time", TIME.format(event.getInstant()));
            g.writeStringField("level", event.getLevel().toString());
            g.writeStringField("logger", event.getLoggerName());
            g.writeStringField("thread", event.getThreadName());
            g.writeStringField("message", event.getFormattedMessage());
            List<KeyValuePair> pairs = event.getKeyValuePairs();
            if (pairs != null) {
                for (KeyValuePair kv : pairs) {
                    if (kv.key == null || RESERVED.contains(kv.key)) {
                        continue;
                    }
                    g.writeFieldName(kv.key);
                    switch (kv.value) {
                        case null -> g.writeNull();
                        case Integer i -> g.writeNumber(i);
                        case Long l -> g.writeNumber(l);
                        case Double d -> g.writeNumber(d);
                        case Boolean b -> g.writeBoolean(b);
                        case Iterable<?> items -> {
                            g.writeStartArray();
                            for (Object o : items) {
                                g.writeString(String.valueOf(o));
                            }
                            g.writeEndArray();
                        }
                        default -> g.writeString(String.valueOf(kv.value));
                    }
                }
            }
            IThrowableProxy t = event.getThrowableProxy();
            if (t != null) {
                g.writeStringField("error", causes.convert(event).strip().replaceAll("^\\(|\\)$", ""));
                g.writeStringField("stack", ThrowableProxyUtil.asString(t));
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.append('\n').toString();
    }
}
