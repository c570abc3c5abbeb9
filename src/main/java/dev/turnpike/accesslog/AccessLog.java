package dev.turnpike.accesslog;

/** Receives finished exchanges. Implementations must never block the calling event loop. */
public interface AccessLog extends AutoCloseable {
    AccessLog NONE = new AccessLog() {
        @Override
        public void log(AccessLogEntry entry) {}

        @Override
        public void close() {}
    };

    void log(AccessLogEntry entry);

    @Override
    void close();
}
