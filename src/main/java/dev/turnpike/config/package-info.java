/**
 * Configuration as a user interface: YAML read with source positions, validated completely into immutable
 * records, with every problem reported as {@code file:line:column: key: what was expected}. Owns the records
 * and the loader; knows nothing of sockets or handlers, and nothing here runs per request.
 */
package dev.turnpike.config;
