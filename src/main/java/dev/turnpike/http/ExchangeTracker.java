package dev.turnpike.http;

/**
 * Told when an exchange starts and when it is over (answered, aborted, or its connection gone), on the exchange's
 * event loop, exactly once each. A configuration snapshot counts its exchanges this way, so that a reload retires it
 * only when the last exchange that started on it is over.
 */
public interface ExchangeTracker {
    ExchangeTracker NONE = new ExchangeTracker() {
        @Override
        public void started(Exchange exchange) {}

        @Override
        public void ended(Exchange exchange) {}
    };

    void started(Exchange exchange);

    void ended(Exchange exchange);
}
