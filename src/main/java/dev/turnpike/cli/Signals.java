package dev.turnpike.cli;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Turns SIGTERM and SIGINT into {@code System.exit(0)}, so the graceful shutdown (a JVM shutdown hook) ends with
 * exit status 0 rather than the JVM's 128+signal; a second signal while stopping ends the process at once. SIGHUP
 * reloads the configuration ({@link #reloadOnHangup}).
 *
 * <p>Uses {@code sun.misc.Signal} (module jdk.unsupported) reflectively, so the build has no warnings about it.
 * Should it be unavailable, the JVM's own handling remains: the shutdown hook still runs, and the exit status is
 * 143 (SIGTERM) or 130 (SIGINT).
 */
final class Signals {
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);
    private static final AtomicBoolean STOPPING = new AtomicBoolean();
    private static final AtomicBoolean INSTALLED = new AtomicBoolean();
    private static final AtomicBoolean HANGUP_INSTALLED = new AtomicBoolean();
    /** What SIGHUP does: reload the running server's configuration; nothing before a server runs. */
    private static volatile Runnable onHangup = () -> LOG.info("received SIGHUP; nothing to reload yet");

    private Signals() {}

    /**
     * Makes SIGHUP run {@code reload} (on the JVM's signal thread, so it must only hand the work over), as nginx and
     * HAProxy reload on it. Without {@code sun.misc.Signal} SIGHUP keeps the JVM's default: it ends the process.
     */
    static void reloadOnHangup(Runnable reload) {
        onHangup = reload;
        if (!HANGUP_INSTALLED.compareAndSet(false, true)) {
            return;
        }
        try {
            install("HUP");
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            LOG.warn("cannot handle SIGHUP ({}); reload through the admin API (POST /reload) instead", e.toString());
        }
    }

    static void exitOnTermination() {
        if (!INSTALLED.compareAndSet(false, true)) {
            return;
        }
        for (String name : List.of("TERM", "INT")) {
            try {
                install(name);
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                LOG.debug("cannot handle SIG{} ({}); the JVM's default handling applies", name, e.toString());
            }
        }
    }

    private static void install(String name) throws ReflectiveOperationException {
        Class<?> signalClass = Class.forName("sun.misc.Signal");
        Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
        Method number = signalClass.getMethod("getNumber");
        Object signal = signalClass.getConstructor(String.class).newInstance(name);
        Object handler = Proxy.newProxyInstance(Signals.class.getClassLoader(), new Class<?>[] {handlerClass},
                (proxy, method, args) -> switch (method.getName()) {
                    case "handle" -> {
                        received(name, (Integer) number.invoke(args[0]));
                        yield null;
                    }
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toString" -> "turnpike SIG" + name + " handler";
                    default -> null;
                });
        signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, signal, handler);
    }

    private static void received(String name, int number) {
        if (name.equals("HUP")) {
            hangup();
            return;
        }
        if (STOPPING.compareAndSet(false, true)) {
            LOG.info("received SIG{}; stopping gracefully (send it again to stop at once)", name);
            System.exit(Main.EXIT_OK);
        } else {
            LOG.warn("received SIG{} again; stopping at once", name);
            Runtime.getRuntime().halt(128 + number);
        }
    }

    /** What the SIGHUP handler runs; tests call it to take the same path as the signal. */
    static void hangup() {
        try {
            onHangup.run();
        } catch (RuntimeException e) {
            LOG.warn("received SIGHUP but could not reload (is Turnpike stopping?)", e);
        }
    }
}
