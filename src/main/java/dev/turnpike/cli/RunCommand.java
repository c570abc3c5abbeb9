package dev.turnpike.cli;

import dev.turnpike.config.ListenerConfig;
import dev.turnpike.config.TurnpikeConfig;
import dev.turnpike.server.TurnpikeServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code turnpike run [-c FILE]}: validate the whole configuration, then serve it until stopped. */
@Command(mixinStandardHelpOptions = true, versionProvider = VersionCommand.Provider.class,
        name = "run", description = {
        "Validate the configuration completely, then serve it until SIGTERM or Ctrl-C.",
        "SIGHUP reloads the configuration file without dropping a request.",
        "Without -c, serves the built-in welcome site on http://127.0.0.1:8080."})
final class RunCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "YAML configuration file")
    Path config;

    @Override
    public Integer call() {
        PrintWriter out = main.out();
        PrintWriter err = main.err();
        if (config == null) {
            return main.runEmbedded(out, err);
        }
        TurnpikeConfig loaded = main.load(config, err);
        if (loaded == null) {
            return Main.EXIT_FAILED;
        }
        TurnpikeServer server = main.start(loaded, main.source(config), err, () -> {}, null);
        if (server == null) {
            return Main.EXIT_FAILED;
        }
        out.println("Turnpike " + VersionInfo.turnpike() + " running " + config + " (Ctrl-C to stop)");
        List<ListenerConfig> listeners = loaded.listeners();
        List<InetSocketAddress> bound = server.boundAddresses();
        for (int i = 0; i < bound.size(); i++) {
            boolean tls = i < listeners.size() && listeners.get(i).tls().isPresent();
            String url = Main.url(bound.get(i), tls);
            String name = i < listeners.size() ? listeners.get(i).name() : null;
            // A listener without a name is named after its address; show only names that say more.
            boolean named = name != null && !name.matches(".*:[0-9]+");
            out.println("listening on " + url + (named ? " (" + name + ")" : ""));
        }
        server.adminAddress().ifPresent(a -> out.println("admin API on " + Main.url(a)));
        out.flush();
        return main.serve(server, () -> {});
    }
}
