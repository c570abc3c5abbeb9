package dev.turnpike.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class WelcomeSiteTest {

    @Test
    void everyFileIsBundledAndUnpackedPrivately() throws Exception {
        Path root = WelcomeSite.extract();
        try {
            for (String name : WelcomeSite.FILES) {
                assertThat(root.resolve(name)).isRegularFile().isNotEmptyFile();
            }
            assertThat(Files.getPosixFilePermissions(root)).isEqualTo(Set.of(PosixFilePermission.OWNER_READ,
                    PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE));
        } finally {
            WelcomeSite.delete(root);
        }
        assertThat(root).doesNotExist();
    }

    @Test
    void thePageUsesNoExternalResources() throws Exception {
        Path root = WelcomeSite.extract();
        try {
            String html = Files.readString(root.resolve("index.html"));
            String css = Files.readString(root.resolve("welcome.css"));
            assertThat(html).contains("href=\"welcome.css\"").contains("href=\"favicon.svg\"")
                    .doesNotContain("http://").doesNotContain("https://").doesNotContain("//fonts");
            assertThat(css).doesNotContain("url(").doesNotContain("@import");
        } finally {
            WelcomeSite.delete(root);
        }
    }

    @Test
    void deleteOfAMissingDirectoryIsQuiet() {
        WelcomeSite.delete(Path.of("/nonexistent/turnpike-welcome-test"));
    }
}
