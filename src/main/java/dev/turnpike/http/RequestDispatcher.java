package dev.turnpike.http;

/** Chooses what answers an exchange (the router) and hands it over. */
@FunctionalInterface
public interface RequestDispatcher {
    void dispatch(Exchange exchange);
}
