package dev.turnpike.metrics;

import dev.turnpike.server.TurnpikeServer;
import dev.turnpike.testing.HeadlessChromium;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.turnpike.metrics.MetricsTesting.get;
import static dev.turnpike.metrics.MetricsTesting.port;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard in a real headless Chromium (the system's chromium and chromedriver, which .ci/run installs): the page
 * shows live requests/s and a route's numbers while traffic flows, and an endpoint that stops answering its health
 * checks turns down on the cluster map without a reload. Saves dashboard.png (to docs/images/ with
 * {@code -Dturnpike.screenshots=docs/images}) for docs/operations.md.
 * Skipped only where Chromium is not installed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DashboardBrowserIT {
    private final List<TurnpikeServer> servers = new ArrayList<>();
    private final AtomicBoolean driving = new AtomicBoolean(true);
    private WebDriver browser;

    @AfterEach
    void stop() {
        driving.set(false);
        if (browser != null) {
            browser.quit();
        }
        for (TurnpikeServer s : servers.reversed()) {
            s.shutdown(Duration.ZERO);
        }
    }

    private TurnpikeServer start(String yaml) throws Exception {
        TurnpikeServer s = MetricsTesting.start(yaml);
        servers.add(s);
        return s;
    }

    private TurnpikeServer upstream() throws Exception {
        return start("""
                listen: "127.0.0.1:0"
                access_log: off
                sites:
                  - routes:
                      - { path: /healthz, respond: "ok\\n" }
                      - { path: /api/*, respond: "hello from upstream\\n" }
                """);
    }

    @Test
    void showsLiveTrafficAndAnEndpointGoingDown() throws Exception {
        HeadlessChromium.assumeInstalled();
        TurnpikeServer a = upstream();
        TurnpikeServer b = upstream();
        TurnpikeServer edge = start("""
                listen: "127.0.0.1:0"
                access_log: off
                clusters:
                  app:
                    endpoints: ["127.0.0.1:%d", "127.0.0.1:%d"]
                    load_balancing: round_robin
                    health:
                      active: { path: /healthz, interval: 200ms, timeout: 150ms, fall: 1, rise: 1 }
                sites:
                  - name: shop
                    routes:
                      - { name: api, path: /api/*, proxy: { cluster: app } }
                      - { name: static, path: /assets/*, respond: "body { }\\n" }
                      - { name: dashboard, path: /dashboard/*, respond: 204 }
                """.formatted(port(a), port(b)));
        Thread traffic = Thread.ofVirtual().start(() -> {
            int i = 0;
            while (driving.get()) {
                try {
                    get(edge, i % 10 == 9 ? "/nowhere" : i % 3 == 0 ? "/assets/app.css" : "/api/items");
                    Thread.sleep(15);
                } catch (Exception e) {
                    return;
                }
                i++;
            }
        });

        browser = HeadlessChromium.start("--window-size=1400,1250", "--force-device-scale-factor=1");
        browser.get("http://127.0.0.1:" + port(edge) + "/dashboard/");
        // The page redraws its tables every second, so elements are found afresh on every check.
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
        wait.ignoring(StaleElementReferenceException.class);

        wait.until(d -> text(d, "#status").equals("live"));
        wait.until(d -> number(text(d, "#total-rps")) > 0);
        wait.until(d -> number(text(d, "tr[data-route='shop/api'] td.rps")) > 0
                && text(d, "tr[data-route='shop/api'] td.p50").matches("[0-9.]+")
                && text(d, "tr[data-route='shop/api'] td.p99").matches("[0-9.]+"));
        wait.until(d -> number(text(d, "tr[data-route='shop/static'] td.rps")) > 0
                && text(d, "tr[data-route='shop/static'] td.e5").equals("0.0%"));
        // requests no route answered show up as such, all 404
        wait.until(d -> text(d, "tr[data-route='/'] td.e4").equals("100.0%"));

        String endpointA = "[data-endpoint='app/127.0.0.1:" + port(a) + "']";
        String endpointB = "[data-endpoint='app/127.0.0.1:" + port(b) + "']";
        wait.until(d -> "up".equals(state(d, endpointB)));
        b.shutdown(Duration.ZERO); // its health checks now fail: the map must show it down, without a reload
        wait.until(d -> "down".equals(state(d, endpointB)) && !text(d, endpointB + " .reason").isBlank());
        wait.until(d -> "up".equals(state(d, endpointA)));

        // a few more seconds of traffic so that the charts have a shape, then the picture for the docs
        Thread.sleep(8000);
        File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
        // target/ on every run; docs/images/ (the picture in docs/operations.md) only when asked, with
        // -Dturnpike.screenshots=docs/images, so that running the tests leaves the checkout clean.
        Path target = Path.of(System.getProperty("turnpike.screenshots", "target/screenshots"), "dashboard.png");
        Files.createDirectories(target.getParent());
        Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
        assertThat(Files.size(target)).isGreaterThan(10_000);
        driving.set(false);
        traffic.join(5000);
    }

    private static String text(WebDriver d, String css) {
        return d.findElement(By.cssSelector(css)).getText();
    }

    private static String state(WebDriver d, String css) {
        return d.findElement(By.cssSelector(css)).getDomAttribute("data-state");
    }

    private static double number(String text) {
        try {
            return Double.parseDouble(text.replace(",", ""));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
