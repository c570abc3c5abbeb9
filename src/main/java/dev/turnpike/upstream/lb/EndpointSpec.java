package dev.turnpike.upstream.lb;

import dev.turnpike.upstream.Endpoint;

import java.util.Objects;

/** The configured part of an endpoint: what {@link ClusterBalancer#reconcile} turns into {@link EndpointState}s. */
public record EndpointSpec(Endpoint endpoint, int weight, boolean backup) {
    public EndpointSpec {
        Objects.requireNonNull(endpoint, "endpoint");
        if (weight < EndpointState.MIN_WEIGHT || weight > EndpointState.MAX_WEIGHT) {
            throw new IllegalArgumentException("weight must be between " + EndpointState.MIN_WEIGHT + " and "
                    + EndpointState.MAX_WEIGHT + ", got " + weight + " for " + endpoint);
        }
    }

    public EndpointSpec(Endpoint endpoint, int weight) {
        this(endpoint, weight, false);
    }
}
