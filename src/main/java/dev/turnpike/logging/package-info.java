/**
 * The server log (events, not requests: the access log is {@code dev.turnpike.accesslog}): logback's setup helpers
 * for {@code logback.xml}, {@link dev.turnpike.logging.ServerLogEncoder} writing one text line or one flat JSON object
 * per event (an event's SLF4J key-values become JSON fields, {@code event} naming it), and {@link
 * dev.turnpike.logging.ServerLog} switching the format and logger levels while running. Degrades to doing nothing
 * when SLF4J is not bound to logback.
 */
package dev.turnpike.logging;
