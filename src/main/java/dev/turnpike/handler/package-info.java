/**
 * The small terminal handlers (respond, redirect), placeholder templates compiled at load time, and the
 * runtime resources a handler may be given when it is built. Larger handlers live in packages of their own
 * (staticfiles, proxy).
 */
package dev.turnpike.handler;
