/**
 * The {@code turnpike} command line: {@code run}, {@code validate}, {@code version}, and with no arguments the
 * built-in welcome site. {@link dev.turnpike.cli.Main} is the jar's entry point; docs/cli.md describes the commands,
 * exit codes, environment variables and signals.
 *
 * <p>Mistakes a user can make (an invalid configuration, a missing file, a port in use) end in one clear message
 * and a non-zero exit, never a stack trace. A running server is stopped gracefully by SIGTERM or SIGINT and reloads
 * its configuration on SIGHUP.
 */
package dev.turnpike.cli;
