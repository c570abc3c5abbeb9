package dev.turnpike.cli;

import dev.turnpike.server.TurnpikeServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
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

import static org.assertj.core.api.Assertions.assertThat;

/** {@code validate --diff} against a file and a running server, and SIGHUP reloading what {@code run} started. */
class ReloadCommandsTest {
    private static final String TOKEN = "cli-test-token-0123456789";

    @TempDir
    Path dir;

    private final List<TurnpikeServer> started = new ArrayList<>();

    private record Result(int code, String out, String err) {}

    @AfterEach
    void stop() {
        started.forEach(s -> s.shutdown(Duration.ZERO));
    }

    private Result cli(Map<String, String> env, String... args) {
        Lifecycle capture = (server, afterStop) -> {
            started.add(server);
            return Main.EXIT_OK;
        };
        CommandLine cl = Main.commandLine(new Main(env, capture, null));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return new Result(cl.execute(args), out.toString(), err.toString());
    }

    private Path write(String name, String yaml) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, yaml);
        return f;
    }

    private static String config(String body, String admin) {
        return """
                listen: "127.0.0.1:0"
                access_log: off
                %s
                sites:
                  - name: main
                    routes:
                      - { name: hello, path: /hello, respond: "%s" }
                """.formatted(admin, body);
    }

    @Test
    void diffAgainstAnotherFileListsWhatChanges() throws Exception {
        Path old = write("old.yaml", config("hi", ""));
        Path next = write("new.yaml", config("hello", "server: { event_loops: 3 }")
                + "      - { name: added, path: /added, respond: new }\n");

        Result r = cli(Map.of(), "validate", "--diff", "-c", next.toString(), "--against", old.toString());

        assertThat(r.code()).isZero();
        assertThat(r.out()).isEqualTo(String.join(System.lineSeparator(),
                next + ": configuration is valid",
                "changes against " + old + ":",
                "  ~ route main/hello: handler.body",
                "  + route main/added",
                "  ~ server: event_loops",
                "  ! server.event_loops takes effect only when Turnpike restarts", ""));
        assertThat(cli(Map.of(), "validate", "--diff", "-c", old.toString(), "--against", old.toString()).out())
                .endsWith("no changes against " + old + System.lineSeparator());
    }

    @Test
    void diffNeedsExactlyOneThingToCompareWith() throws Exception {
        Path f = write("a.yaml", config("hi", ""));
        Result none = cli(Map.of(), "validate", "--diff", "-c", f.toString());
        assertThat(none.code()).isEqualTo(2);
        assertThat(none.err()).contains("--diff needs what to compare with: --against OLD or --admin URL");
        Result noDiff = cli(Map.of(), "validate", "-c", f.toString(), "--against", f.toString());
        assertThat(noDiff.code()).isEqualTo(2);
        assertThat(noDiff.err()).contains("add --diff");

        Path bad = write("bad.yaml", "listen: nowhere\n");
        Result badOld = cli(Map.of(), "validate", "--diff", "-c", f.toString(), "--against", bad.toString());
        assertThat(badOld.code()).isEqualTo(1);
        assertThat(badOld.err()).contains(bad + " is not valid, so there is nothing to compare with");
    }

    @Test
    void diffAgainstARunningServerUsesItsAdminApi() throws Exception {
        String admin = "admin: { address: \"127.0.0.1:0\", token: " + TOKEN + " }";
        Path file = write("run.yaml", config("hi", admin));
        assertThat(cli(Map.of(), "run", "-c", file.toString()).code()).isZero();
        TurnpikeServer server = started.getFirst();
        String url = "http://127.0.0.1:" + server.adminAddress().orElseThrow().getPort();
        Map<String, String> env = Map.of(ValidateCommand.TOKEN_VARIABLE, TOKEN);

        Result same = cli(env, "validate", "--diff", "-c", file.toString(), "--admin", url);
        assertThat(same.code()).isZero();
        assertThat(same.out()).endsWith("no changes against the running configuration at " + url
                + System.lineSeparator());

        Path next = write("next.yaml", config("hello", admin.replace(TOKEN, TOKEN + "-new")));
        Result changed = cli(env, "validate", "--diff", "-c", next.toString(), "--admin", url + "/");
        assertThat(changed.out()).contains("  ~ route main/hello: handler.body")
                .as("a token change cannot be seen through the redacted configuration").doesNotContain("admin");

        Result noToken = cli(Map.of(), "validate", "--diff", "-c", file.toString(), "--admin", url);
        assertThat(noToken.code()).isEqualTo(1);
        assertThat(noToken.err()).contains("needs its token: set TURNPIKE_ADMIN_TOKEN");
        Result nobody = cli(env, "validate", "--diff", "-c", file.toString(), "--admin", "http://127.0.0.1:1");
        assertThat(nobody.code()).isEqualTo(1);
        assertThat(nobody.err()).startsWith("turnpike: cannot reach the admin API at http://127.0.0.1:1");
    }

    @Test
    void sighupReloadsTheFileRunStarted() throws Exception {
        Path file = write("run.yaml", config("before", ""));
        Result r = cli(Map.of(), "run", "-c", file.toString());
        assertThat(r.code()).isZero();
        TurnpikeServer server = started.getFirst();
        int port = server.boundAddresses().getFirst().getPort();
        Signals.reloadOnHangup(() -> server.reload("SIGHUP"));

        Files.writeString(file, config("after", ""));
        Signals.hangup();

        try (HttpClient http = HttpClient.newHttpClient()) {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            String body;
            do {
                body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/hello")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
            } while (!body.equals("after") && System.nanoTime() < deadline);
            assertThat(body).isEqualTo("after");
        } finally {
            Signals.reloadOnHangup(() -> { });
        }
    }
}
