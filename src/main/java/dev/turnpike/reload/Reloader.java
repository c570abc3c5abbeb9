package dev.turnpike.reload;

import dev.turnpike.config.ConfigDiff;
import dev.turnpike.config.ConfigException;
import dev.turnpike.config.TurnpikeConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Reloads a running server's configuration from its {@link ConfigSource}, whoever asks (SIGHUP, the admin API, a
 * file change): one reload at a time, in the order asked, on the executor given (never an event loop: loading reads
 * files and building a snapshot can take a while).
 *
 * <p>The new configuration is loaded and validated exactly as {@code turnpike validate} does. An invalid one is
 * refused: the problems are logged (one line) and returned, and the running configuration keeps serving untouched.
 * A valid one goes to the {@link Applier} (the server), which puts it in place or fails without changing anything.
 * Each outcome is one log line with {@code event} {@code reload_applied}, {@code reload_refused} or
 * {@code reload_failed}.
 */
public final class Reloader {
    private static final Logger LOG = LoggerFactory.getLogger(Reloader.class);

    /** Puts a validated configuration in place, all or nothing. */
    @FunctionalInterface
    public interface Applier {
        /** @return what changed */
        ConfigDiff apply(TurnpikeConfig next) throws ReloadException;
    }

    private final ConfigSource source;
    private final Applier applier;
    private final Executor executor;

    /** @param executor runs the reloads; it must run one task at a time (a single thread) */
    public Reloader(ConfigSource source, Applier applier, Executor executor) {
        this.source = source;
        this.applier = applier;
        this.executor = executor;
    }

    public ConfigSource source() {
        return source;
    }

    /** Reloads after those already asked for; the future completes with the outcome (never exceptionally). */
    public CompletableFuture<ReloadResult> reload(String trigger) {
        return CompletableFuture.supplyAsync(() -> reloadNow(trigger), executor);
    }

    private ReloadResult reloadNow(String trigger) {
        if (!source.reloadable()) {
            String why = "nothing to reload: Turnpike was started without a configuration file";
            LOG.atWarn().addKeyValue("event", "reload_refused").addKeyValue("trigger", trigger)
                    .addKeyValue("reason", why).log("reload refused ({}): {}", trigger, why);
            return new ReloadResult(ReloadResult.Outcome.UNAVAILABLE, trigger, new ConfigDiff(List.of()),
                    List.of(why), List.of());
        }
        TurnpikeConfig next;
        try {
            next = source.load();
        } catch (ConfigException e) {
            List<String> problems = e.report(source.toString());
            LOG.atWarn().addKeyValue("event", "reload_refused").addKeyValue("trigger", trigger)
                    .addKeyValue("reason", "invalid configuration").addKeyValue("problems", problems)
                    .log("reload refused ({}): the configuration is not valid, the running one keeps serving: {}",
                            trigger, String.join("; ", problems));
            return new ReloadResult(ReloadResult.Outcome.REFUSED, trigger, new ConfigDiff(List.of()), problems,
                    List.of());
        } catch (RuntimeException e) {
            return failed(trigger, "could not read the configuration: " + e.getMessage(), e);
        }
        try {
            ConfigDiff diff = applier.apply(next);
            List<String> notes = diff.restartNeeded().stream()
                    .map(k -> k + " changed but takes effect only when Turnpike restarts").toList();
            LOG.atInfo().addKeyValue("event", "reload_applied").addKeyValue("trigger", trigger)
                    .addKeyValue("changes", diff.lines())
                    .log("reload applied ({}): {}", trigger, diff.summary());
            for (String note : notes) {
                LOG.atWarn().addKeyValue("event", "reload_restart_needed").addKeyValue("trigger", trigger)
                        .log("reload ({}): {}", trigger, note);
            }
            return new ReloadResult(ReloadResult.Outcome.APPLIED, trigger, diff, List.of(), notes);
        } catch (ReloadException e) {
            return failed(trigger, e.getMessage(), e.getCause());
        } catch (RuntimeException e) {
            return failed(trigger, "could not apply the configuration: " + e, e);
        }
    }

    private static ReloadResult failed(String trigger, String why, Throwable cause) {
        LOG.atWarn().addKeyValue("event", "reload_failed").addKeyValue("trigger", trigger)
                .addKeyValue("reason", why).setCause(cause)
                .log("reload failed ({}): {}; the running configuration keeps serving", trigger, why);
        return new ReloadResult(ReloadResult.Outcome.FAILED, trigger, new ConfigDiff(List.of()), List.of(why),
                List.of());
    }
}
