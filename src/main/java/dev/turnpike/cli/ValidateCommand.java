package dev.turnpike.cli;

import dev.turnpike.config.TurnpikeConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code turnpike validate -c FILE}: check everything a start would check, except binding the ports. */
@Command(mixinStandardHelpOptions = true, versionProvider = VersionCommand.Provider.class,
        name = "validate", description = {
        "Check a configuration completely without starting anything.",
        "Prints every problem as FILE:LINE:COLUMN: key: message on stderr and exits 1."})
final class ValidateCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", required = true, description = "YAML configuration file")
    Path config;

    @Override
    public Integer call() {
        PrintWriter out = main.out();
        TurnpikeConfig loaded = main.load(config, main.err());
        if (loaded == null) {
            return Main.EXIT_FAILED;
        }
        out.println(config + ": configuration is valid");
        out.flush();
        return Main.EXIT_OK;
    }
}
