package dev.turnpike.config;

import java.util.List;
import java.util.stream.Collectors;

/** A configuration that cannot be used; carries every problem found, not just the first. */
public final class ConfigException extends Exception {
    private final List<ConfigProblem> problems;

    public ConfigException(List<ConfigProblem> problems) {
        super(problems.stream().map(ConfigProblem::toString).collect(Collectors.joining("\n")), null, false, false);
        this.problems = List.copyOf(problems);
    }

    public List<ConfigProblem> problems() {
        return problems;
    }

    /**
     * The problems as {@code turnpike validate} prints them: one {@code file:line:column: key: message} line each (a
     * file that cannot be read at all is one line, {@code file: reason}), then a count when there is more to say.
     */
    public List<String> report(String file) {
        List<String> lines = new java.util.ArrayList<>();
        for (ConfigProblem p : problems) {
            if (p.key().equals("(file)") && p.position().line() <= 1 && p.position().column() <= 1) {
                lines.add(p.position().file() + ": " + p.message());
            } else {
                lines.add(p.toString());
            }
        }
        if (problems.size() > 1 || (problems.size() == 1 && !problems.getFirst().key().equals("(file)"))) {
            lines.add(file + ": configuration is not valid (" + problems.size()
                    + (problems.size() == 1 ? " problem)" : " problems)"));
        }
        return lines;
    }
}
