package dev.turnpike.reload;

/** A valid configuration could not be put in place (a port taken, a file gone); the running one is untouched. */
public final class ReloadException extends Exception {
    public ReloadException(String message, Throwable cause) {
        super(message, cause);
    }
}
