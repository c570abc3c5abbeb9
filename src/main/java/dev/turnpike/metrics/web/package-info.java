/**
 * The HTTP face of the metrics: {@link dev.turnpike.metrics.web.MetricsHandler} (the Prometheus text format, for
 * {@code /metrics}) and {@link dev.turnpike.metrics.web.DashboardHandler} (the live dashboard page, its assets from the
 * classpath and its server-sent event stream, for {@code /dashboard} and below). Both are plain handlers, independent
 * of the path they are mounted at; the admin listener mounts them.
 */
package dev.turnpike.metrics.web;
