package dev.turnpike.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The welcome site bundled in the jar under {@code dev/turnpike/welcome/}, unpacked to a private temporary
 * directory (mode 700) for the embedded configuration to serve, and removed again when the server stops.
 */
final class WelcomeSite {
    static final String RESOURCE_DIR = "/dev/turnpike/welcome/";
    /** Every file of the site; a test checks that each is on the classpath. */
    static final List<String> FILES = List.of("index.html", "welcome.css", "favicon.svg");

    private WelcomeSite() {}

    /** Unpacks the site into a new private directory and returns it. */
    static Path extract() throws IOException {
        Path dir = Files.createTempDirectory("turnpike-welcome-");
        try {
            for (String name : FILES) {
                try (InputStream in = WelcomeSite.class.getResourceAsStream(RESOURCE_DIR + name)) {
                    if (in == null) {
                        throw new IOException("resource " + RESOURCE_DIR + name + " is missing from the jar");
                    }
                    Files.copy(in, dir.resolve(name));
                }
            }
        } catch (IOException e) {
            delete(dir);
            throw e;
        }
        return dir;
    }

    /** Removes {@code dir} and what is in it; best effort (it is a temporary directory). */
    static void delete(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // Left for the system's temporary-file cleanup.
        }
    }
}
