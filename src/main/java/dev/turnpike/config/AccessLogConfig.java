package dev.turnpike.config;

/**
 * @param enabled whether requests are logged at all
 * @param format  line format
 * @param output  "stdout", "stderr" or a file path
 */
public record AccessLogConfig(boolean enabled, Format format, String output) {
    public enum Format { COMBINED, JSON }

    public static AccessLogConfig defaults() {
        return new AccessLogConfig(true, Format.COMBINED, "stdout");
    }
}
