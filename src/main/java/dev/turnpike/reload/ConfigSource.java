package dev.turnpike.reload;

import dev.turnpike.config.ConfigException;
import dev.turnpike.config.ConfigLoader;
import dev.turnpike.config.TurnpikeConfig;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Where a running server reads its configuration again: the file it was started with, loaded and validated exactly
 * as {@code turnpike validate} does ({@link ConfigLoader#load(Path, Map)}, same environment), or nothing at all for a
 * server started from a configuration in memory (the built-in welcome site, tests).
 */
public interface ConfigSource {

    /** Nothing to reload from. */
    ConfigSource NONE = new ConfigSource() {
        @Override
        public TurnpikeConfig load() {
            throw new UnsupportedOperationException("there is no configuration file to reload");
        }

        @Override
        public boolean reloadable() {
            return false;
        }

        @Override
        public String toString() {
            return "no configuration file";
        }
    };

    /** Reads and validates the configuration; every problem is in the exception. */
    TurnpikeConfig load() throws ConfigException;

    /** Whether {@link #load()} can be called at all. */
    default boolean reloadable() {
        return true;
    }

    /** The file to watch for changes, if there is one. */
    default Optional<Path> file() {
        return Optional.empty();
    }

    /** {@code file}, with {@code env} for {@code ${NAME}} references. */
    static ConfigSource file(Path file, Map<String, String> env) {
        Map<String, String> copy = Map.copyOf(env);
        return new ConfigSource() {
            @Override
            public TurnpikeConfig load() throws ConfigException {
                return ConfigLoader.load(file, copy);
            }

            @Override
            public Optional<Path> file() {
                return Optional.of(file);
            }

            @Override
            public String toString() {
                return file.toString();
            }
        };
    }
}
