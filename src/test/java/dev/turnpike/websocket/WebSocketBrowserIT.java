package dev.turnpike.websocket;

import dev.turnpike.testing.HeadlessChromium;
import dev.turnpike.testing.TestServer;
import dev.turnpike.testing.WsUpstream;
import dev.turnpike.tls.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * WebSockets from a real browser (the system's headless Chromium) through Turnpike to a real HTTP/1.1 WebSocket
 * server. Over TLS with ALPN h2, Chromium opens the WebSocket as an RFC 8441 extended CONNECT stream on the page's
 * HTTP/2 connection, because Turnpike's SETTINGS enable it; over cleartext it uses the HTTP/1.1 Upgrade. The page,
 * served by a static route, echoes a text and a 64 KiB binary message, closes with a code of its own, and shows the
 * code the upstream going away ends its WebSocket with. Skipped only where Chromium is not installed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WebSocketBrowserIT {
    private static final String HOST = "chat.test";
    /** Opens a WebSocket back to where the page came from and writes what happens into the page's elements. */
    private static final String PAGE = """
            <!doctype html>
            <meta charset="utf-8">
            <title>WebSocket echo</title>
            <p>state: <span id="state">connecting</span></p>
            <p>text: <span id="text"></span></p>
            <p>binary: <span id="binary"></span></p>
            <p>close: <span id="close"></span></p>
            <script>
            const show = (id, value) => { document.getElementById(id).textContent = value; };
            const sent = new Uint8Array(64 * 1024);
            for (let i = 0; i < sent.length; i++) {
              sent[i] = (i * 31 + (i >> 8)) & 0xff;
            }
            const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
            const ws = new WebSocket(scheme + location.host + '/ws/page');
            ws.binaryType = 'arraybuffer';
            ws.onopen = () => {
              show('state', 'open');
              ws.send('hello over ' + location.protocol);
              ws.send(sent.buffer);
            };
            ws.onmessage = (e) => {
              if (typeof e.data === 'string') {
                show('text', e.data);
                return;
              }
              const got = new Uint8Array(e.data);
              let same = got.length === sent.length;
              for (let i = 0; same && i < got.length; i++) {
                same = got[i] === sent[i];
              }
              show('binary', got.length + (same ? ' bytes, the same' : ' bytes, different'));
            };
            ws.onerror = () => show('state', 'error');
            ws.onclose = (e) => {
              show('close', e.code + ' ' + e.reason);
              show('state', 'closed');
            };
            </script>
            """;

    private static TestPki pki;
    private static TestPki.Issued certificate;
    private static WebDriver browser;

    @TempDir
    Path dir;
    private TestServer turnpike;
    private WsUpstream upstream;

    /**
     * One browser for the class (starting Chromium is the slow part). It trusts exactly the test server's key (by
     * its SPKI hash, rather than ignoring every certificate error) and resolves chat.test, the name in the
     * certificate, to loopback.
     */
    @BeforeAll
    static void startBrowser() throws Exception {
        HeadlessChromium.assumeInstalled();
        pki = new TestPki(TestPki.KeyType.EC);
        certificate = pki.server(TestPki.KeyType.EC, HOST);
        String spki = Base64.getEncoder().encodeToString(
                MessageDigest.getInstance("SHA-256").digest(certificate.cert().getPublicKey().getEncoded()));
        browser = HeadlessChromium.start("--ignore-certificate-errors-spki-list=" + spki,
                "--host-resolver-rules=MAP " + HOST + " 127.0.0.1");
    }

    @AfterAll
    static void quitBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    @AfterEach
    void stop() {
        if (browser != null) {
            browser.get("about:blank"); // the next test starts without this page's WebSocket
        }
        if (turnpike != null) {
            turnpike.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    /** The upstream, and Turnpike with a TLS listener (index 0) and a cleartext one (index 1) serving the page. */
    private void start() throws Exception {
        certificate.write(dir, "s", TestPki.KeyFormat.PKCS8);
        Path root = Files.createDirectories(dir.resolve("public"));
        Files.writeString(root.resolve("index.html"), PAGE);
        upstream = WsUpstream.start("a");
        turnpike = TestServer.start("""
                listeners:
                  - { address: "127.0.0.1:0", name: tls, tls: { cert: s.pem, key: s.key } }
                  - { address: "127.0.0.1:0", name: cleartext }
                server: { event_loops: 1 }
                access_log: { format: json, output: access.log }
                clusters:
                  chat:
                    endpoints: [%s]
                sites:
                  - routes:
                      - { path: /ws/*, proxy: { cluster: chat } }
                      - { path: /*, static: ./public }
                """.formatted(upstream.address()), dir);
    }

    /** Loads the page from {@code url} and waits for its WebSocket to open. */
    private static void open(String url) {
        browser.get(url);
        waitFor("the page at " + url + " to connect its WebSocket", d -> !text(d, "state").equals("connecting"));
        assertThat(text(browser, "state")).as("the page's WebSocket").isEqualTo("open");
    }

    /** Generous: the machine may be busy, and Chromium shares it. Names {@code what} when it times out. */
    private static void waitFor(String what, Function<WebDriver, Boolean> condition) {
        new WebDriverWait(browser, Duration.ofSeconds(20)).withMessage(what).until(condition);
    }

    /**
     * Loads the page from {@code url}, checks both echoes, has the page close with 1000 and a reason, and checks that
     * the upstream got that code; returns the tunnel's access log entry, written when it ends.
     */
    private String echoAndCloseWith1000(String url) {
        open(url);
        awaitEchoes("hello over " + url.substring(0, url.indexOf("//")));
        ((JavascriptExecutor) browser).executeScript("ws.close(1000, 'done by the page')");
        waitFor("the page's WebSocket to close", d -> text(d, "state").equals("closed"));
        // the upstream answers the close frame with it: the code and the reason went both ways
        assertThat(text(browser, "close")).isEqualTo("1000 done by the page");
        assertThat(upstream.closeCodes).containsExactly(1000);
        assertThat(upstream.handshakes).hasSize(1);
        String entry = accessLogEntry("/ws/page");
        assertThat(entry).contains("\"status\":101");
        return entry;
    }

    private static void awaitEchoes(String text) {
        waitFor("the echoes", d -> !text(d, "text").isEmpty() && !text(d, "binary").isEmpty());
        assertThat(text(browser, "text")).isEqualTo(text);
        assertThat(text(browser, "binary")).isEqualTo("65536 bytes, the same");
    }

    @Test
    void overHttp2WithTlsTheMessagesEchoAndThePagesCloseReachesTheUpstream() throws Exception {
        start();
        String entry = echoAndCloseWith1000("https://" + HOST + ":" + turnpike.port(0) + "/");
        assertThat(upstream.handshakes.getFirst().get("x-forwarded-proto")).isEqualTo("https");
        // What proves the browser used RFC 8441: the tunnel's access log entry.
        assertThat(entry).contains("\"method\":\"CONNECT\"").contains("\"protocol\":\"HTTP/2.0\"");
    }

    @Test
    void overCleartextHttp11TheUpgradeEchoes() throws Exception {
        start();
        String entry = echoAndCloseWith1000("http://127.0.0.1:" + turnpike.port(1) + "/");
        assertThat(entry).contains("\"method\":\"GET\"").contains("\"protocol\":\"HTTP/1.1\"");
    }

    @Test
    void anUpstreamThatGoesAwayEndsThePagesWebSocketWith1012() throws Exception {
        start();
        open("https://" + HOST + ":" + turnpike.port(0) + "/");
        awaitEchoes("hello over https:");
        upstream.kill(); // no close frame: the connection just ends, as when the server restarts
        waitFor("the page's WebSocket to close", d -> text(d, "state").equals("closed"));
        assertThat(text(browser, "close")).isEqualTo("1012 upstream went away");
        assertThat(accessLogEntry("/ws/page")).contains("\"protocol\":\"HTTP/2.0\"");
    }

    /** The one access log entry for {@code target}, once it is written. */
    private String accessLogEntry(String target) {
        Path log = dir.resolve("access.log");
        String quoted = "\"target\":\"" + target + "\"";
        waitFor("the access log entry for " + target, d -> lines(log).stream().anyMatch(l -> l.contains(quoted)));
        List<String> entries = lines(log).stream().filter(l -> l.contains(quoted)).toList();
        assertThat(entries).hasSize(1);
        return entries.getFirst();
    }

    private static List<String> lines(Path file) {
        try {
            return Files.exists(file) ? Files.readAllLines(file) : List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String text(WebDriver d, String id) {
        return d.findElement(By.id(id)).getText();
    }
}
