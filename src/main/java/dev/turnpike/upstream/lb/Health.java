package dev.turnpike.upstream.lb;

/** The health of an {@link EndpointState}, as set by health checks, outlier detection or an operator. */
public enum Health {
    /** Takes new requests. */
    UP,
    /** Takes no new requests unless nothing at all is up (panic mode); carries a reason. */
    DOWN,
    /** Finishes what it has but never takes a new request, not even in panic mode. */
    DRAINING
}
