package dev.turnpike.cli;

import dev.turnpike.admin.Json;
import dev.turnpike.config.ConfigDiff;
import dev.turnpike.config.ConfigTree;
import dev.turnpike.config.TurnpikeConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code turnpike validate -c FILE}: check everything a start would check, except binding the ports. With
 * {@code --diff}, also print what a reload to FILE would change, against another file or a running server.
 */
@Command(mixinStandardHelpOptions = true, versionProvider = VersionCommand.Provider.class,
        name = "validate", description = {
        "Check a configuration completely without starting anything.",
        "Prints every problem as FILE:LINE:COLUMN: key: message on stderr and exits 1.",
        "With --diff, also prints what changes against another file (--against) or a running Turnpike (--admin):",
        "listeners, sites, routes and clusters added (+), removed (-) or changed (~), with the keys that differ."},
        footer = {"", "The admin API's token is read from the environment variable " + ValidateCommand.TOKEN_VARIABLE
                + "."})
final class ValidateCommand implements Callable<Integer> {
    static final String TOKEN_VARIABLE = "TURNPIKE_ADMIN_TOKEN";

    @ParentCommand
    Main main;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", required = true, description = "YAML configuration file")
    Path config;

    @Option(names = "--diff", description = "Print what would change (needs --against or --admin)")
    boolean diff;

    @Option(names = "--against", paramLabel = "OLD", description = "The configuration file to compare with")
    Path against;

    @Option(names = "--admin", paramLabel = "URL",
            description = "A running Turnpike's admin API to compare with, e.g. http://127.0.0.1:9090")
    String admin;

    @Override
    public Integer call() {
        PrintWriter out = main.out();
        PrintWriter err = main.err();
        if (diff == (against == null && admin == null) || (against != null && admin != null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), diff
                    ? "--diff needs what to compare with: --against OLD or --admin URL (one of them)"
                    : "--against and --admin are for --diff; add --diff");
        }
        TurnpikeConfig loaded = main.load(config, err);
        if (loaded == null) {
            return Main.EXIT_FAILED;
        }
        out.println(config + ": configuration is valid");
        if (!diff) {
            out.flush();
            return Main.EXIT_OK;
        }
        ConfigDiff changes;
        String base;
        if (against != null) {
            TurnpikeConfig old = main.load(against, err);
            if (old == null) {
                err.println("turnpike: " + against + " is not valid, so there is nothing to compare with");
                err.flush();
                return Main.EXIT_FAILED;
            }
            changes = ConfigDiff.between(old, loaded);
            base = against.toString();
        } else {
            Map<String, Object> running;
            try {
                running = fetch(admin.endsWith("/") ? admin.substring(0, admin.length() - 1) : admin);
            } catch (IllegalStateException e) {
                err.println("turnpike: " + e.getMessage());
                err.flush();
                return Main.EXIT_FAILED;
            }
            // The running configuration comes back with its secrets redacted: compare like with like.
            changes = ConfigDiff.between(running, ConfigTree.of(loaded));
            base = "the running configuration at " + admin;
        }
        if (changes.isEmpty()) {
            out.println("no changes against " + base);
        } else {
            out.println("changes against " + base + ":");
            changes.lines().forEach(l -> out.println("  " + l));
            changes.restartNeeded().forEach(k -> out.println("  ! " + k + " takes effect only when Turnpike restarts"));
        }
        out.flush();
        return Main.EXIT_OK;
    }

    /** GET {base}/config, with the token from the environment when it is set. */
    @SuppressWarnings("unchecked")
    private Map<String, Object> fetch(String base) {
        URI uri;
        try {
            uri = URI.create(base + "/config");
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("--admin needs a URL such as http://127.0.0.1:9090, got '" + admin + "'");
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10));
        String token = main.env(TOKEN_VARIABLE);
        if (token != null && !token.isBlank()) {
            request.header("Authorization", "Bearer " + token.strip());
        }
        HttpResponse<String> response;
        try (HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalStateException("cannot reach the admin API at " + admin + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
        if (response.statusCode() == 401) {
            throw new IllegalStateException("the admin API at " + admin + " needs its token: set " + TOKEN_VARIABLE);
        }
        if (response.statusCode() != 200) {
            throw new IllegalStateException("the admin API at " + admin + " answered " + response.statusCode()
                    + " to GET /config");
        }
        try {
            if (Json.parse(response.body()) instanceof Map<?, ?> m) {
                return (Map<String, Object>) m;
            }
        } catch (IllegalArgumentException e) {
            // reported below
        }
        throw new IllegalStateException(admin + " did not answer GET /config with a configuration; is it Turnpike's"
                + " admin API?");
    }
}
