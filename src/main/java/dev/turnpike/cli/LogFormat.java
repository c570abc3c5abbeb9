package dev.turnpike.cli;

import ch.qos.logback.core.PropertyDefinerBase;

import java.util.Locale;

/**
 * Used by logback.xml: picks the server log's format from {@code TURNPIKE_LOG_FORMAT}, {@code json} for JSON lines
 * or {@code text} (the default) for human-readable lines. Returns the name of the appender to use.
 */
public final class LogFormat extends PropertyDefinerBase {
    static final String VARIABLE = "TURNPIKE_LOG_FORMAT";

    @Override
    public String getPropertyValue() {
        return appenderFor(System.getenv(VARIABLE));
    }

    static String appenderFor(String value) {
        String v = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "json" -> "JSON";
            case "", "text" -> "TEXT";
            default -> {
                System.err.println("turnpike: " + VARIABLE + "=" + value + " is not known; use json or text."
                        + " Logging as text.");
                yield "TEXT";
            }
        };
    }
}
