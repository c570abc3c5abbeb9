/**
 * The running process: transport and event loops, listeners and their connection limits, the compiled
 * configuration snapshot that requests capture, and graceful shutdown. Startup logs the effective transport,
 * allocator and JVM flags so a benchmark or bug report says what actually ran.
 */
package dev.turnpike.server;
