package dev.turnpike.accesslog;

import dev.turnpike.config.AccessLogConfig;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Opens the access log a configuration asks for. */
public final class AccessLogs {
    /** Entries waiting to be written; beyond this they are dropped and counted rather than blocking a loop. */
    static final int QUEUE_CAPACITY = 65_536;

    private AccessLogs() {}

    public static AccessLog open(AccessLogConfig config) {
        if (!config.enabled()) {
            return AccessLog.NONE;
        }
        AccessLogFormat format = config.format() == AccessLogConfig.Format.JSON
                ? new AccessLogFormat.Json() : new AccessLogFormat.Combined();
        return new AsyncAccessLog(open(config.output()), !isStd(config.output()), format, QUEUE_CAPACITY);
    }

    private static boolean isStd(String output) {
        return output.equals("stdout") || output.equals("stderr");
    }

    private static OutputStream open(String output) {
        return switch (output) {
            // Through System.out/err rather than the raw descriptors, so whoever redirected the JVM's streams
            // (a test runner, an embedding application) still gets the lines.
            case "stdout" -> System.out;
            case "stderr" -> System.err;
            default -> {
                try {
                    yield Files.newOutputStream(Path.of(output), StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                            StandardOpenOption.WRITE);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot open access log " + output + ": " + e.getMessage(), e);
                }
            }
        };
    }
}
