package dev.turnpike.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import org.slf4j.LoggerFactory;

import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The server log at runtime: its format (text or JSON lines, see {@link ServerLogEncoder}) and the level of each
 * logger. {@code TURNPIKE_LOG_FORMAT}, when set, wins over the configuration's {@code server.log_format}: it is the
 * operator's override, and it applies from the first line, before any configuration is read.
 *
 * <p>Does nothing (and says so in its answers) when SLF4J is not bound to logback, as in an embedding application
 * with its own logging.
 */
public final class ServerLog {
    public static final String FORMAT_VARIABLE = "TURNPIKE_LOG_FORMAT";
    /** Levels that {@link #setLevel} accepts, besides {@code null} (inherit from the parent logger). */
    public static final java.util.List<String> LEVELS = java.util.List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR",
            "OFF");

    private ServerLog() {}

    public enum Format {
        TEXT, JSON;

        /** {@code text} or {@code json}, any case; anything else is text, with a warning on stderr. */
        static Format parse(String value) {
            String v = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
            return switch (v) {
                case "json" -> JSON;
                case "", "text" -> TEXT;
                default -> {
                    System.err.println("turnpike: " + FORMAT_VARIABLE + "=" + value + " is not known; use json or text."
                            + " Logging as text.");
                    yield TEXT;
                }
            };
        }
    }

    /**
     * Uses {@code configured} unless {@code TURNPIKE_LOG_FORMAT} is set in {@code env}.
     *
     * @return the format in effect, or empty when the server log is not Turnpike's logback setup
     */
    public static Optional<Format> useFormat(Format configured, Map<String, String> env) {
        Optional<ServerLogEncoder> encoder = encoder();
        if (encoder.isEmpty()) {
            return Optional.empty();
        }
        String override = env.get(FORMAT_VARIABLE);
        Format f = override != null && !override.isBlank() ? Format.parse(override) : configured;
        encoder.get().setFormat(f);
        return Optional.of(f);
    }

    /** The format of the server log now, or empty when it is not Turnpike's logback setup. */
    public static Optional<Format> format() {
        return encoder().map(ServerLogEncoder::getFormat);
    }

    private static Optional<ServerLogEncoder> encoder() {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return Optional.empty();
        }
        Iterator<Appender<ch.qos.logback.classic.spi.ILoggingEvent>> it =
                context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).iteratorForAppenders();
        while (it.hasNext()) {
            if (it.next() instanceof OutputStreamAppender<?> a && a.getEncoder() instanceof ServerLogEncoder e) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    // ------------------------------------------------------------------------------------------ levels

    /**
     * A logger's level: the one set on it ({@code level}, null when it inherits) and the one in effect.
     *
     * @param logger    the logger's name ({@code ROOT} for the root logger)
     * @param level     the level set on this logger, or null when it inherits its parent's
     * @param effective the level in effect
     */
    public record LoggerLevel(String logger, String level, String effective) {}

    /** The level of {@code name} ({@code ROOT} or {@code dev.turnpike.proxy} ...), or empty without logback. */
    public static Optional<LoggerLevel> level(String name) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return Optional.empty();
        }
        Logger l = context.getLogger(name);
        return Optional.of(new LoggerLevel(l.getName(), l.getLevel() == null ? null : l.getLevel().toString(),
                l.getEffectiveLevel().toString()));
    }

    /**
     * Sets the level of {@code name}; {@code level} null (or {@code "inherit"}) makes it follow its parent again.
     *
     * @throws IllegalArgumentException for a level that is not one of {@link #LEVELS}
     */
    public static Optional<LoggerLevel> setLevel(String name, String level) {
        Level l = null;
        if (level != null && !level.equalsIgnoreCase("inherit")) {
            String v = level.strip().toUpperCase(Locale.ROOT);
            if (!LEVELS.contains(v)) {
                throw new IllegalArgumentException("unknown level '" + level + "'; expected one of: "
                        + String.join(", ", LEVELS) + ", or inherit");
            }
            l = Level.toLevel(v);
        }
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return Optional.empty();
        }
        Logger logger = context.getLogger(name);
        if (l == null && logger.getName().equals(org.slf4j.Logger.ROOT_LOGGER_NAME)) {
            throw new IllegalArgumentException("the root logger cannot inherit; give it a level");
        }
        logger.setLevel(l);
        return level(name);
    }
}
