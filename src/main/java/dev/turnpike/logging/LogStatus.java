package dev.turnpike.logging;

import ch.qos.logback.core.status.Status;
import ch.qos.logback.core.status.StatusListener;

/**
 * logback's own status messages: only errors in the logging setup are shown, one line each on stderr, instead of
 * logback's full status dump (which it prints on any warning, such as the unused one of the two appenders).
 */
public final class LogStatus implements StatusListener {
    @Override
    public void addStatusEvent(Status status) {
        if (status.getEffectiveLevel() >= Status.ERROR) {
            Throwable t = status.getThrowable();
            System.err.println("turnpike: logging setup: " + status.getMessage()
                    + (t == null ? "" : " (" + t + ")"));
        }
    }

    @Override
    public boolean isResetResistant() {
        return true;
    }
}
