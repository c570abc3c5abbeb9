package dev.turnpike.server;

/** The server could not start (a port in use, an unusable file); the message is meant for the operator. */
public final class ServerStartException extends Exception {
    public ServerStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
