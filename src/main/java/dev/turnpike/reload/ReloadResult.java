package dev.turnpike.reload;

import dev.turnpike.config.ConfigDiff;

import java.util.List;

/**
 * How a reload ended.
 *
 * @param outcome  applied, refused (the new configuration is not valid; the running one keeps serving), failed
 *                 (valid, but it could not be put in place, e.g. a new listener's port is taken; nothing changed),
 *                 or unavailable (there is no configuration file to read again)
 * @param trigger  what asked for it: {@code SIGHUP}, {@code admin API}, {@code file change}
 * @param diff     what changed (applied), or would have (failed); empty when refused
 * @param problems why it was refused or failed: for an invalid configuration, one line per problem exactly as
 *                 {@code turnpike validate} prints them
 * @param notes    what was applied but needs more: settings that only take effect on a restart
 */
public record ReloadResult(Outcome outcome, String trigger, ConfigDiff diff, List<String> problems,
                           List<String> notes) {

    public enum Outcome { APPLIED, REFUSED, FAILED, UNAVAILABLE }

    public ReloadResult {
        problems = List.copyOf(problems);
        notes = List.copyOf(notes);
    }

    public boolean applied() {
        return outcome == Outcome.APPLIED;
    }
}
