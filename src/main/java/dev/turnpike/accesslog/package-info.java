/**
 * The access log: entries captured on the event loop, formatted (combined or JSON lines) and written on a
 * thread of its own behind a bounded queue, so a slow disk drops and counts entries instead of stalling
 * requests.
 */
package dev.turnpike.accesslog;
