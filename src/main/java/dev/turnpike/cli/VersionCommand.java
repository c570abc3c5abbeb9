package dev.turnpike.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code turnpike version}: Turnpike, Java and Netty versions and the I/O transport that would be used. */
@Command(mixinStandardHelpOptions = true, versionProvider = VersionCommand.Provider.class,
        name = "version",
        description = "Print the Turnpike, Java and Netty versions and the I/O transport.")
final class VersionCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        VersionInfo.lines().forEach(out::println);
        out.flush();
        return Main.EXIT_OK;
    }

    /** For {@code turnpike --version}. */
    static final class Provider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            // picocli formats these with String.format: keep a stray '%' literal.
            return VersionInfo.lines().stream().map(l -> l.replace("%", "%%")).toArray(String[]::new);
        }
    }
}
