package dev.turnpike.config;

/**
 * One thing wrong with a configuration, pointing at where it is.
 *
 * @param position where the offending key or value is
 * @param key      dotted path of the offending key, e.g. {@code sites[0].routes[2].proxy}
 * @param message  what was expected, phrased for a person
 */
public record ConfigProblem(SourcePosition position, String key, String message) {
    @Override
    public String toString() {
        return position + ": " + key + ": " + message;
    }
}
