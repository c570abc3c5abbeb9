/**
 * How a configuration change reaches a running server: its {@link dev.turnpike.reload.ConfigSource} (the file it
 * started from, loaded and validated exactly as {@code turnpike validate} does), the {@link
 * dev.turnpike.reload.Reloader} that runs one reload at a time off the event loops and refuses an invalid file with
 * validate's own messages, the {@link dev.turnpike.reload.ReloadResult}, and the {@link
 * dev.turnpike.reload.ConfigWatcher} behind {@code server.watch_config}.
 *
 * <p>Putting a valid configuration in place (snapshots, listeners, carried-over clusters, the grace period of
 * changed routes) is the server's job ({@code TurnpikeServer.apply}); nothing here knows sockets or exchanges.
 */
package dev.turnpike.reload;
