package dev.turnpike.cli;

import dev.turnpike.config.ConfigException;
import dev.turnpike.config.ConfigLoader;
import dev.turnpike.config.ListenerConfig;
import dev.turnpike.config.TurnpikeConfig;
import dev.turnpike.reload.ConfigSource;
import dev.turnpike.server.HandlerFactory;
import dev.turnpike.server.ServerStartException;
import dev.turnpike.server.Transport;
import dev.turnpike.server.TurnpikeServer;
import io.netty.util.NetUtil;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;

/**
 * The {@code turnpike} command. With no arguments it serves the built-in welcome site, like {@code turnpike run}
 * without {@code -c}. See docs/cli.md.
 */
@Command(name = "turnpike",
        mixinStandardHelpOptions = true,
        versionProvider = VersionCommand.Provider.class,
        synopsisSubcommandLabel = "[COMMAND]",
        description = {
                "Turnpike: an edge server (web server and reverse proxy).",
                "",
                "Without a command, serves the built-in welcome site on http://127.0.0.1:8080."},
        subcommands = {RunCommand.class, ValidateCommand.class, VersionCommand.class, CommandLine.HelpCommand.class},
        footer = {
                "",
                "Examples:",
                "  turnpike                              serve the welcome site",
                "  turnpike run -c site.yaml             serve a configuration",
                "  turnpike validate -c site.yaml        check it, start nothing",
                "",
                "Exit codes: 0 success, 1 invalid configuration or cannot start, 2 wrong usage.",
                "Documentation: docs/cli.md and docs/configuration.md"})
public final class Main implements Callable<Integer> {
    static final int EXIT_OK = 0;
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;

    /** Environment variable the embedded configuration reads the welcome site's directory from. */
    static final String WELCOME_ROOT_VARIABLE = "TURNPIKE_WELCOME_ROOT";

    @Spec
    CommandSpec spec;

    private final Map<String, String> env;
    private final Lifecycle lifecycle;
    private final InetSocketAddress embeddedListen;

    /** The real command: the process environment, and a server that runs until SIGTERM or SIGINT. */
    public Main() {
        this(System.getenv(), Lifecycle.untilSignalled(), null);
    }

    /**
     * For tests: {@code env} for {@code ${NAME}} expansion, what to do once a server is up, and an address that
     * replaces the embedded configuration's {@code 127.0.0.1:8080} ({@code null} keeps it).
     */
    Main(Map<String, String> env, Lifecycle lifecycle, InetSocketAddress embeddedListen) {
        this.env = Map.copyOf(env);
        this.lifecycle = Objects.requireNonNull(lifecycle);
        this.embeddedListen = embeddedListen;
    }

    public static void main(String[] args) {
        leaveDnsCachingToClusters();
        leaveNettyJfrEventsOff();
        initializeInBackground();
        System.exit(commandLine(new Main()).execute(args));
    }

    /** The system property the JDK reads the name cache's lifetime from when java.security does not set one. */
    static final String DNS_TTL_PROPERTY = "sun.net.inetaddr.ttl";

    /**
     * The JVM caches every name lookup for 30 s on its own, which would hide a cluster's shorter {@code dns_refresh}
     * (the pools keep each answer for exactly that long). Must run before the first lookup; an operator's own
     * {@code networkaddress.cache.ttl} in java.security, or {@code -Dsun.net.inetaddr.ttl}, wins. The system property
     * rather than {@code Security.setProperty}: setting a security property starts the JDK's System.Logger to report
     * the change, 15 ms of every start.
     */
    static void leaveDnsCachingToClusters() {
        if (java.security.Security.getProperty("networkaddress.cache.ttl") == null
                && System.getProperty(DNS_TTL_PROPERTY) == null) {
            System.setProperty(DNS_TTL_PROPERTY, "0");
        }
    }

    /**
     * Starts what every serving command needs and what does not depend on the command line on a thread of its own,
     * while picocli builds its model of the commands on main (80 ms, reflection): the server log's setup (logback
     * reads logback.xml, some 50 ms) and the native transport (30 ms). Both happen once per JVM in class and library
     * initialization, which the JVM and SLF4J make safe across threads: main finds them done, or waits for them.
     */
    static void initializeInBackground() {
        Thread.ofPlatform().daemon().name("turnpike-init").start(() -> {
            LoggerFactory.getILoggerFactory();
            Transport.loadNative();
        });
    }

    /** The system property that decides whether Netty emits its allocator's JFR events. */
    static final String NETTY_JFR_PROPERTY = "io.netty.jfr.enabled";

    /**
     * Netty 4.2 registers its buffer allocator's event types with the flight recorder on the first chunk it allocates
     * whenever the JDK has JFR (every JDK does), recording or not: 50 ms of CPU on the first request, spent in JFR's
     * metadata setup. The events only matter when profiling Netty's allocator, so they are off unless the operator
     * asks for them with {@code -Dio.netty.jfr.enabled=true} (TURNPIKE_JAVA_OPTS). Must run before Netty's
     * PlatformDependent is initialized, which reads the property once.
     */
    static void leaveNettyJfrEventsOff() {
        if (System.getProperty(NETTY_JFR_PROPERTY) == null) {
            System.setProperty(NETTY_JFR_PROPERTY, "false");
        }
    }

    /** The picocli command line for {@code main}; tests set their own out and err writers on it. */
    static CommandLine commandLine(Main main) {
        CommandLine cl = new CommandLine(main);
        cl.setUsageHelpAutoWidth(true);
        return cl;
    }

    /** No command: the welcome site. */
    @Override
    public Integer call() {
        return runEmbedded(out(), err());
    }

    // --------------------------------------------------------------------------------------------- shared

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** Loads and fully validates {@code file}; prints every problem and returns null when it cannot be used. */
    TurnpikeConfig load(Path file, PrintWriter err) {
        try {
            return ConfigLoader.load(file, env);
        } catch (ConfigException e) {
            printProblems(e, file.toString(), err);
            return null;
        }
    }

    /**
     * Prints each problem as {@code file:line:column: key: message}; a file that cannot be read at all is one line,
     * {@code file: reason}.
     */
    static void printProblems(ConfigException e, String file, PrintWriter err) {
        e.report(file).forEach(err::println);
        err.flush();
    }

    /** The welcome site from the classpath, on the embedded configuration. */
    int runEmbedded(PrintWriter out, PrintWriter err) {
        Path root;
        try {
            root = WelcomeSite.extract();
        } catch (IOException e) {
            err.println("turnpike: cannot unpack the welcome site: " + e.getMessage());
            err.flush();
            return EXIT_FAILED;
        }
        Runnable cleanup = () -> WelcomeSite.delete(root);
        TurnpikeConfig config;
        try {
            Map<String, String> withRoot = new HashMap<>(env);
            withRoot.put(WELCOME_ROOT_VARIABLE, root.toString());
            config = ConfigLoader.embeddedDefault(withRoot);
        } catch (ConfigException e) {
            cleanup.run();
            // The embedded configuration is part of the jar: a problem with it is a bug, not the user's mistake.
            throw new IllegalStateException("the built-in configuration is not valid:\n" + e.getMessage(), e);
        }
        if (embeddedListen != null) {
            config = withListener(config, embeddedListen);
        }
        TurnpikeServer server = start(config, err, cleanup,
                "; another program (perhaps another Turnpike) is using it. Stop it, or give a configuration"
                        + " with another address: turnpike run -c FILE");
        if (server == null) {
            return EXIT_FAILED;
        }
        out.println("Turnpike " + VersionInfo.turnpike() + " serving the welcome site on "
                + String.join(", ", urls(server)) + " (Ctrl-C to stop)");
        out.flush();
        return serve(server, cleanup);
    }

    /** A variable of the environment the command runs with, or null. */
    String env(String name) {
        return env.get(name);
    }

    /** The file a running server reloads from: loaded as {@link #load} does, with the same environment. */
    ConfigSource source(Path file) {
        return ConfigSource.file(file, env);
    }

    /** Starts {@code config}; on failure prints the reason (and {@code hint}) and returns null. */
    TurnpikeServer start(TurnpikeConfig config, PrintWriter err, Runnable cleanup, String portInUseHint) {
        return start(config, ConfigSource.NONE, err, cleanup, portInUseHint);
    }

    /** As {@link #start(TurnpikeConfig, PrintWriter, Runnable, String)}, reloading from {@code source}. */
    TurnpikeServer start(TurnpikeConfig config, ConfigSource source, PrintWriter err, Runnable cleanup,
                         String portInUseHint) {
        try {
            return TurnpikeServer.start(config, HandlerFactory.DEFAULT, source);
        } catch (ServerStartException e) {
            cleanup.run();
            String message = e.getMessage() == null ? e.toString() : e.getMessage();
            if (portInUseHint != null && message.contains("in use")) {
                message += portInUseHint;
            }
            err.println("turnpike: " + message);
            err.flush();
            return null;
        }
    }

    /** Hands a running server to the lifecycle (in the real command: until SIGTERM or SIGINT). */
    int serve(TurnpikeServer server, Runnable afterStop) {
        try {
            return lifecycle.serve(server, afterStop);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.shutdown(server.shutdownTimeout());
            afterStop.run();
            return EXIT_OK;
        }
    }

    /** {@code http://host:port} for each bound listener, in configuration order. */
    static List<String> urls(TurnpikeServer server) {
        List<String> urls = new ArrayList<>();
        for (InetSocketAddress a : server.boundAddresses()) {
            urls.add(url(a));
        }
        return urls;
    }

    static String url(InetSocketAddress a) {
        return url(a, false);
    }

    static String url(InetSocketAddress a, boolean https) {
        String host = a.getAddress() == null ? a.getHostString() : NetUtil.toAddressString(a.getAddress());
        return (https ? "https://" : "http://") + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":"
                + a.getPort();
    }

    private static TurnpikeConfig withListener(TurnpikeConfig config, InetSocketAddress address) {
        ListenerConfig first = config.listeners().getFirst();
        String host = address.getHostString();
        String name = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
        ListenerConfig listener = new ListenerConfig(name, host, address.getPort(), first.limits(),
                first.timeouts(), first.sendfile(), first.tls(), first.redirectToHttps(), first.http2(),
                first.position());
        return new TurnpikeConfig(config.source(), config.server(), List.of(listener), config.sites(),
                config.accessLog(), config.clusters(), config.admin());
    }
}
