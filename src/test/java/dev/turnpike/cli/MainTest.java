package dev.turnpike.cli;

import dev.turnpike.server.TurnpikeServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The CLI in-process through picocli, with captured output and real servers on 127.0.0.1. */
class MainTest {
    private static final InetSocketAddress ANY_LOOPBACK_PORT = new InetSocketAddress("127.0.0.1", 0);
    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");

    @TempDir
    Path dir;

    /** Servers the CLI started; the real lifecycle would block until a signal, this one returns at once. */
    private final List<Started> started = new ArrayList<>();

    private record Started(TurnpikeServer server, Runnable afterStop) {}

    private record Result(int code, String out, String err) {}

    @AfterEach
    void stopServers() {
        for (Started s : started) {
            s.server().shutdown(Duration.ZERO);
            s.afterStop().run();
        }
    }

    private Result cli(String... args) {
        return cli(ANY_LOOPBACK_PORT, args);
    }

    private Result cli(InetSocketAddress embeddedListen, String... args) {
        Lifecycle capture = (server, afterStop) -> {
            started.add(new Started(server, afterStop));
            return Main.EXIT_OK;
        };
        CommandLine cl = Main.commandLine(new Main(Map.of(), capture, embeddedListen));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    private Path write(String name, String yaml) throws Exception {
        Path file = dir.resolve(name);
        Files.writeString(file, yaml);
        return file;
    }

    private static HttpResponse<String> get(String url) throws Exception {
        try (HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
        }
    }

    private static void assertNoStackTrace(String text) {
        assertThat(text).doesNotContain("\tat ").doesNotContain("Exception");
    }

    private static String hello(String listen) {
        return """
                listen: "%s"
                access_log: off
                sites:
                  - routes:
                      - path: /*
                        respond: "hello from the cli test\\n"
                """.formatted(listen);
    }

    // ------------------------------------------------------------------------------------------ validate

    @Test
    void validateAcceptsAValidFile() throws Exception {
        Path file = write("ok.yaml", hello("127.0.0.1:0"));

        Result r = cli("validate", "-c", file.toString());

        assertThat(r.code()).isZero();
        assertThat(r.out()).isEqualTo(file + ": configuration is valid" + System.lineSeparator());
        assertThat(r.err()).isEmpty();
        assertThat(started).isEmpty();
    }

    @Test
    void validateReportsEveryProblemWithFileLineColumnAndKey() throws Exception {
        Path file = write("bad.yaml", """
                listen: "127.0.0.1:99999"
                sevrer:
                  event_loops: 2
                sites:
                  - routes:
                      - path: /*
                        respond: hi
                """);

        Result r = cli("validate", "-c", file.toString());

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err())
                .contains(file + ":1:9: listen: ")
                .contains(file + ":2:1: sevrer: unknown key; did you mean 'server'?")
                .contains(file + ": configuration is not valid (2 problems)");
        assertNoStackTrace(r.err());
    }

    @Test
    void validateOfAMissingFileIsOneClearLine() {
        Path missing = dir.resolve("nope.yaml");

        Result r = cli("validate", "-c", missing.toString());

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo(missing + ": cannot read the configuration: no such file"
                + System.lineSeparator());
        assertNoStackTrace(r.err());
    }

    @Test
    void validateWithoutAFileIsAUsageError() {
        Result r = cli("validate");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("Missing required option: '--config=FILE'").contains("Usage: turnpike validate");
    }

    @Test
    void unknownCommandIsAUsageError() {
        Result r = cli("serve");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("Unmatched argument").contains("serve");
    }

    // ------------------------------------------------------------------------------------------ version, help

    @Test
    void versionPrintsTurnpikeJavaNettyAndTransport() {
        Result r = cli("version");

        assertThat(r.code()).isZero();
        assertThat(r.out().lines().toList()).satisfiesExactly(
                l -> assertThat(l).matches("Turnpike \\S+"),
                l -> assertThat(l).startsWith("Java " + Runtime.version().feature()),
                l -> assertThat(l).matches("Netty 4\\.\\d+\\.\\d+\\.\\S+"),
                l -> assertThat(l).matches("Transport (epoll|nio).*"));
    }

    @Test
    void versionFlagPrintsTheSame() {
        assertThat(cli("--version").out()).isEqualTo(cli("version").out());
    }

    @Test
    void everyCommandHasHelp() {
        for (String command : List.of("run", "validate", "version")) {
            Result r = cli(command, "--help");
            assertThat(r.code()).as(command).isZero();
            assertThat(r.out()).as(command).startsWith("Usage: turnpike " + command);
        }
    }

    @Test
    void urlsAreWrittenAsABrowserWants() {
        assertThat(Main.url(new InetSocketAddress("127.0.0.1", 8080))).isEqualTo("http://127.0.0.1:8080");
        assertThat(Main.url(new InetSocketAddress("::1", 8080))).isEqualTo("http://[::1]:8080");
        assertThat(Main.url(new InetSocketAddress("0.0.0.0", 80))).isEqualTo("http://0.0.0.0:80");
    }

    @Test
    void helpListsTheCommands() {
        Result r = cli("--help");

        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("run").contains("validate").contains("version");
    }

    // ------------------------------------------------------------------------------------------ run

    @Test
    void runServesTheConfiguration() throws Exception {
        Path file = write("hello.yaml", hello("127.0.0.1:0"));

        Result r = cli("run", "-c", file.toString());

        assertThat(r.code()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).startsWith("Turnpike ").contains("running " + file + " (Ctrl-C to stop)");
        Matcher m = LISTENING.matcher(r.out());
        assertThat(m.find()).as("a listening line in %s", r.out()).isTrue();
        int port = Integer.parseInt(m.group(1));
        assertThat(port).isEqualTo(started.getFirst().server().boundAddresses().getFirst().getPort());

        HttpResponse<String> response = get("http://127.0.0.1:" + port + "/anything");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("hello from the cli test\n");
    }

    @Test
    void runOnAPortInUseFailsWithOneLine() throws Exception {
        Result first = cli("run", "-c", write("first.yaml", hello("127.0.0.1:0")).toString());
        int port = started.getFirst().server().boundAddresses().getFirst().getPort();
        Path second = write("second.yaml", hello("127.0.0.1:" + port));

        Result r = cli("run", "-c", second.toString());

        assertThat(first.code()).isZero();
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().lines().toList()).singleElement().asString()
                .isEqualTo("turnpike: cannot listen on 127.0.0.1:" + port + " (" + second + ":1:9): address already in use");
        assertNoStackTrace(r.err());
        assertThat(started).hasSize(1);
    }

    @Test
    void runRefusesAnInvalidConfiguration() throws Exception {
        Path file = write("bad.yaml", """
                listen: "127.0.0.1:0"
                sites:
                  - routes:
                      - path: /*
                        prxy: http://127.0.0.1:3000
                """);

        Result r = cli("run", "-c", file.toString());

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains(file + ":5:9: sites[0].routes[0].prxy: unknown key; did you mean 'proxy'?");
        assertNoStackTrace(r.err());
        assertThat(started).isEmpty();
    }

    @Test
    void runOfAMissingFileIsOneClearLine() {
        Result r = cli("run", "-c", dir.resolve("missing.yaml").toString());

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().lines().toList()).singleElement().asString().endsWith("no such file");
        assertThat(started).isEmpty();
    }

    // ------------------------------------------------------------------------------------------ welcome site

    @Test
    void noArgumentsServesTheWelcomeSite() throws Exception {
        Result r = cli();

        assertThat(r.code()).isZero();
        Matcher m = Pattern.compile("^Turnpike \\S+ serving the welcome site on http://127\\.0\\.0\\.1:(\\d+)"
                + " \\(Ctrl-C to stop\\)$").matcher(r.out().strip());
        assertThat(m.matches()).as(r.out()).isTrue();
        String base = "http://127.0.0.1:" + m.group(1);

        HttpResponse<String> page = get(base + "/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("content-type")).get().asString().startsWith("text/html");
        assertThat(page.body()).contains("Turnpike is up").contains("examples/static-and-api.yaml")
                .contains("validate -c FILE").contains("docs/configuration.md");
        HttpResponse<String> css = get(base + "/welcome.css");
        assertThat(css.statusCode()).isEqualTo(200);
        assertThat(css.headers().firstValue("content-type")).get().asString().startsWith("text/css");
    }

    @Test
    void runWithoutAConfigurationIsTheWelcomeSiteToo() throws Exception {
        Result r = cli("run");

        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("serving the welcome site");
        int port = started.getFirst().server().boundAddresses().getFirst().getPort();
        assertThat(get("http://127.0.0.1:" + port + "/").body()).contains("Turnpike is up");
    }

    @Test
    void welcomeSiteOnAPortInUseSaysWhatToDo() throws Exception {
        cli("run", "-c", write("taken.yaml", hello("127.0.0.1:0")).toString());
        InetSocketAddress taken = started.getFirst().server().boundAddresses().getFirst();

        Result r = cli(taken);

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().lines().toList()).singleElement().asString()
                .startsWith("turnpike: cannot listen on 127.0.0.1:" + taken.getPort())
                .contains("turnpike run -c FILE");
        assertThat(started).hasSize(1);
    }

    // ------------------------------------------------------------------------ JVM defaults set by main()

    /** Runs {@code body} with system property {@code name} set to {@code value} (null: unset), then restores it. */
    private static String withProperty(String name, String value, Runnable body) {
        String before = System.getProperty(name);
        try {
            if (value == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, value);
            }
            body.run();
            return System.getProperty(name);
        } finally {
            if (before == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, before);
            }
        }
    }

    @Test
    void nameLookupsAreNotCachedByTheJvmUnlessTheOperatorSaysSo() {
        assertThat(java.security.Security.getProperty("networkaddress.cache.ttl"))
                .as("the JDK's java.security leaves it unset").isNull();
        assertThat(withProperty(Main.DNS_TTL_PROPERTY, null, Main::leaveDnsCachingToClusters)).isEqualTo("0");
        assertThat(withProperty(Main.DNS_TTL_PROPERTY, "5", Main::leaveDnsCachingToClusters)).isEqualTo("5");
    }

    @Test
    void nettyAllocatorJfrEventsAreOffUnlessTheOperatorAsks() {
        assertThat(withProperty(Main.NETTY_JFR_PROPERTY, null, Main::leaveNettyJfrEventsOff)).isEqualTo("false");
        assertThat(withProperty(Main.NETTY_JFR_PROPERTY, "true", Main::leaveNettyJfrEventsOff)).isEqualTo("true");
    }
}
