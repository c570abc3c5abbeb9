/**
 * Chooses what answers a request: site by host, then route by path, method and headers, with the single
 * precedence rule documented in docs/configuration.md. Routes are compiled and sorted once per configuration;
 * a lookup does no parsing and no allocation beyond what the match needs.
 */
package dev.turnpike.routing;
