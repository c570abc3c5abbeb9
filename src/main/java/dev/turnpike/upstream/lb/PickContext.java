package dev.turnpike.upstream.lb;

import java.net.InetAddress;

/**
 * What a pick may look at, without depending on the HTTP layer: the integrator adapts its exchange (lazily: a
 * policy asks only for what it hashes on), and reports the endpoints already tried by earlier attempts of the same
 * request. Every method has a default returning "absent", so an implementation overrides only what it has.
 *
 * <p>Called on the picking thread only, during the pick; values need not outlive it.
 */
public interface PickContext {

    /** A context with nothing: hash policies fall back to round robin, nothing is tried. */
    PickContext EMPTY = new PickContext() {
    };

    /** The client's address (after trusted-proxy processing, if the integrator does that), or null. */
    default InetAddress clientAddress() {
        return null;
    }

    /** The first value of a request header, {@code name} matched case-insensitively, or null. */
    default CharSequence header(String name) {
        return null;
    }

    /** The value of a request cookie, or null. */
    default CharSequence cookie(String name) {
        return null;
    }

    /** The request path (without the query), or null. */
    default CharSequence path() {
        return null;
    }

    /** The first value of a query parameter, or null. */
    default CharSequence queryParam(String name) {
        return null;
    }

    /**
     * Whether an earlier attempt of this request already went to {@code endpoint}: policies avoid those when another
     * endpoint is available (a retry goes elsewhere), and use them only when nothing else is. See
     * {@link TriedEndpoints}.
     */
    default boolean isTried(EndpointState endpoint) {
        return false;
    }
}
