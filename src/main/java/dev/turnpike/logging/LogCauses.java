package dev.turnpike.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;

/**
 * {@code %causes} in logback.xml: an event's exception on the same line, as
 * {@code " (IOException: outer; caused by ConnectException: Connection refused)"}, so that the text log keeps one
 * line per event. ERROR events also name where the innermost cause was thrown. JSON lines carry the whole trace.
 */
public final class LogCauses extends ClassicConverter {
    private static final int MAX_CAUSES = 5;

    @Override
    public String convert(ILoggingEvent event) {
        IThrowableProxy t = event.getThrowableProxy();
        if (t == null) {
            return "";
        }
        StringBuilder sb = new StringBuilder(" (");
        IThrowableProxy innermost = t;
        for (int depth = 0; t != null && depth < MAX_CAUSES; depth++, t = t.getCause()) {
            if (depth > 0) {
                sb.append("; caused by ");
            }
            sb.append(simpleName(t.getClassName()));
            String m = t.getMessage();
            if (m != null && !m.isBlank()) {
                sb.append(": ").append(oneLine(m));
            }
            innermost = t;
        }
        if (event.getLevel().isGreaterOrEqual(Level.ERROR)) {
            StackTraceElementProxy[] frames = innermost.getStackTraceElementProxyArray();
            if (frames != null && frames.length > 0) {
                sb.append(" at ").append(frames[0].getStackTraceElement());
            }
        }
        return sb.append(')').toString();
    }

    private static String simpleName(String className) {
        return className.startsWith("java.") || className.startsWith("javax.")
                ? className.substring(className.lastIndexOf('.') + 1) : className;
    }

    private static String oneLine(String s) {
        return s.strip().replaceAll("\\s*[\\r\\n]+\\s*", " / ");
    }
}
