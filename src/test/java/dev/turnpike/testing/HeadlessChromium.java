package dev.turnpike.testing;

import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The system's headless Chromium driven through Selenium, for the tests that need a real browser (the chromium and
 * chromedriver packages, which .ci/run installs). Where Chromium is not installed, {@link #assumeInstalled} and
 * {@link #start} skip the test.
 */
public final class HeadlessChromium {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    private HeadlessChromium() {}

    /** Skips the calling test where Chromium is not installed; call it before starting servers for the browser. */
    public static void assumeInstalled() {
        assumeTrue(Files.isExecutable(CHROMIUM),
                "Chromium is not installed (apt-get install chromium chromium-driver)");
    }

    /** A new browser with these command-line switches on top of the headless ones; the caller quits it. */
    public static ChromeDriver start(String... arguments) {
        assumeInstalled();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage");
        options.addArguments(arguments);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }
}
