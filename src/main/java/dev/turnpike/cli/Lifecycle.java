package dev.turnpike.cli;

import dev.turnpike.server.TurnpikeServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/** What the CLI does with a server once it is up: in the real command, keep it running until asked to stop. */
@FunctionalInterface
interface Lifecycle {

    /**
     * Called once {@code server} listens. Returns the exit code; {@code afterStop} must run once the server has
     * been shut down (it removes the unpacked welcome site, for instance).
     */
    int serve(TurnpikeServer server, Runnable afterStop) throws InterruptedException;

    /**
     * Runs until the JVM shuts down (SIGTERM, SIGINT/Ctrl-C, or {@code System.exit}); a shutdown hook then stops the
     * server gracefully: it stops accepting, lets in-flight requests finish up to the configured
     * {@code shutdown_timeout}, and closes what is left. SIGHUP reloads the configuration meanwhile.
     */
    static Lifecycle untilSignalled() {
        return (server, afterStop) -> {
            Logger log = LoggerFactory.getLogger(Main.class);
            CountDownLatch stopped = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                try {
                    Duration timeout = server.shutdownTimeout();
                    log.info("stopping: no new connections; in-flight requests have up to {} to finish",
                            human(timeout));
                    server.shutdown(timeout);
                    afterStop.run();
                    log.info("stopped");
                } finally {
                    stopped.countDown();
                }
            }, "turnpike-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            Signals.exitOnTermination();
            Signals.reloadOnHangup(() -> {
                log.info("received SIGHUP; reloading the configuration");
                server.reload("SIGHUP");
            });
            stopped.await();
            return Main.EXIT_OK;
        };
    }

    private static String human(Duration d) {
        if (d.toMillis() % 1000 != 0) {
            return d.toMillis() + "ms";
        }
        return d.toSeconds() + "s";
    }
}
