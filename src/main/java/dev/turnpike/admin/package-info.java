/**
 * The admin API: a listener of its own (bound by the server, on the same event loops, with the project's HTTP/1.1
 * stack) serving a small table from path to {@link dev.turnpike.http.Handler} ({@link dev.turnpike.admin.AdminRoutes})
 * behind a constant-time bearer-token check, the built-in endpoints ({@link dev.turnpike.admin.AdminApi}: probes,
 * configuration, clusters, drain/enable, reload, route matching, log levels) and JSON over plain trees
 * ({@link dev.turnpike.admin.Json}). Other parts register their handlers (metrics, dashboard) on the table.
 *
 * <p>Reads the running server through {@link dev.turnpike.admin.AdminTarget}, never its internals. Must not: block an
 * event loop (a reload runs on the server's control thread, pool counts on each loop, and answers hop back); print a
 * secret (the configuration goes out through the redacting {@link dev.turnpike.config.ConfigTree}); serve traffic
 * (its limits are small and its requests are not access-logged).
 */
package dev.turnpike.admin;
