/**
 * Metrics: the Prometheus series of one server ({@link dev.turnpike.metrics.Metrics}, for the server's whole life),
 * the hooks that record them at a few single places (the end of an exchange through its route's pre-resolved
 * {@link dev.turnpike.metrics.RouteMeter}; connections, HTTP/2 streams and TLS handshakes through
 * {@link dev.turnpike.metrics.ListenerMetrics}), the upstream state read at scrape time, and the live dashboard's
 * per-second history ({@link dev.turnpike.metrics.Dashboard}). Labels carry only configured names and status classes,
 * so the number of series is bounded by the configuration. Names, types and labels: docs/operations.md.
 *
 * <p>Nothing here depends on HTTP handling; {@code dev.turnpike.metrics.web} serves the metrics and the dashboard as
 * handlers that any listener can mount.
 */
package dev.turnpike.metrics;
