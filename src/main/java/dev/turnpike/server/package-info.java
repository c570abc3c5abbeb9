/**
 * The running process: transport and event loops, listeners and their connection limits, the admin listener, the
 * compiled configuration snapshot that requests capture, reload (a new snapshot and listener set put in place all or
 * nothing, the old snapshot retired when its last exchange is over, counted per event loop) and graceful shutdown.
 * {@link dev.turnpike.server.LoopClock} is the event loops' clock: one reading per read callback.
 * Startup logs the effective transport, allocator and JVM flags so a benchmark or bug report says what actually ran.
 */
package dev.turnpike.server;
