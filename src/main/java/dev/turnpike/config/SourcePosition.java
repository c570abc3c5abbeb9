package dev.turnpike.config;

/** Where a configuration value came from, so runtime messages can point back at the file. */
public record SourcePosition(String file, int line, int column) {
    public static final SourcePosition NONE = new SourcePosition("<none>", 0, 0);

    @Override
    public String toString() {
        return file + ":" + line + ":" + column;
    }
}
