package dev.turnpike.websocket;

import dev.turnpike.testing.TestServer;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a long-lived connection costs Turnpike: 5,000 idle WebSockets, then 5,000 pending long polls, opened through
 * a Turnpike in this JVM by a {@link LoadDriver} in another (clients and upstream there, so that this JVM's heap is
 * Turnpike's and each process needs only half the file descriptors). The heap after a full GC and Netty's direct
 * memory are measured before and after, per connection, and written to {@code target/long-lived-memory.txt}.
 * Override the count with {@code -Dturnpike.longlived.n=...}; {@code -Dturnpike.longlived.histogram=true} also writes a
 * class histogram taken with the connections open to {@code target/histo-ws.txt} and {@code target/histo-poll.txt}.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LongLivedMemoryIT {
    private static final int N = Integer.getInteger("turnpike.longlived.n", 5000);
    private static final int WARM_UP = 200;

    @Test
    void idleWebSockets() throws Exception {
        Result r = measure("ws", "");
        // Generous bounds: the point is the report, and that the cost is a few KiB, not a buffer per connection.
        assertThat(r.heapPerConnection()).isBetween(1L, 48L * 1024);
        assertThat(r.directPerConnection()).isLessThan(8L * 1024);
    }

    @Test
    void pendingLongPolls() throws Exception {
        Result r = measure("poll", ", timeouts: {first_byte: 10m}");
        assertThat(r.heapPerConnection()).isBetween(1L, 48L * 1024);
        assertThat(r.directPerConnection()).isLessThan(8L * 1024);
    }

    record Result(long heapPerConnection, long directPerConnection) {}

    private Result measure(String mode, String routeExtras) throws Exception {
        var os = ManagementFactory.getOperatingSystemMXBean();
        assumeTrue(os instanceof com.sun.management.UnixOperatingSystemMXBean, "needs a Unix JVM to count descriptors");
        var unix = (com.sun.management.UnixOperatingSystemMXBean) os;
        long free = unix.getMaxFileDescriptorCount() - unix.getOpenFileDescriptorCount();
        assumeTrue(free >= 2L * (N + WARM_UP) + 256, "skipped: " + N + " connections need " + (2L * (N + WARM_UP) + 256)
                + " free file descriptors in this process (and as many in the load driver's), but only " + free
                + " are; raise 'ulimit -n' (soft and hard) or run with -Dturnpike.longlived.n=<fewer>");

        Process driver = startDriver(mode);
        try (BufferedReader out = new BufferedReader(new InputStreamReader(driver.getInputStream(), StandardCharsets.UTF_8));
             Writer in = new OutputStreamWriter(driver.getOutputStream(), StandardCharsets.UTF_8)) {
            String first = out.readLine();
            assertThat(first).as("the load driver's first line").startsWith("UPSTREAM ");
            int upstreamPort = Integer.parseInt(first.substring(9).trim());
            String yaml = "listen: \"127.0.0.1:0\"\n"
                    + "server: {event_loops: 2}\n"
                    + "access_log: off\n"
                    + "clusters:\n"
                    + "  app:\n"
                    + "    endpoints: [127.0.0.1:" + upstreamPort + "]\n"
                    + "    load_balancing: { policy: least_connections }\n"
                    + "sites:\n"
                    + "  - routes:\n"
                    + "      - path: /*\n"
                    + "        proxy: {cluster: app" + routeExtras + "}\n";
            try (TestServer s = TestServer.start(yaml)) {
                // warm up: classes loaded, pools and caches made, so that the difference below is per connection
                command(in, out, "open " + s.port() + " " + WARM_UP);
                long heapBefore = heapAfterGc();
                long directBefore = direct();
                long openMillis = command(in, out, "open " + s.port() + " " + N);
                Thread.sleep(500);
                long heapAfter = heapAfterGc();
                long directAfter = direct();
                var endpoint = s.server().snapshot().clusters().require("app").endpoints().getFirst();
                assertThat(endpoint.load()).as("every connection is open through Turnpike").isEqualTo(N + WARM_UP);

                if (Boolean.getBoolean("turnpike.longlived.histogram")) {
                    // where the bytes are: a class histogram of this JVM with the connections open
                    String h = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                            new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"),
                            "gcClassHistogram", new Object[] {new String[0]}, new String[] {String[].class.getName()});
                    Files.writeString(Path.of("target", "histo-" + mode + ".txt"), h);
                }
                long heapPer = (heapAfter - heapBefore) / N;
                long directPer = Math.max(0, directAfter - directBefore) / N;
                String what = mode.equals("ws") ? "idle WebSocket" : "pending long poll";
                String line = String.format("%s: %d opened in %d ms; Turnpike heap %+d bytes (%d per %s), Netty direct"
                        + " %+d bytes (%d per %s); heap %d -> %d MiB after GC%n", what, N, openMillis,
                        heapAfter - heapBefore, heapPer, what, directAfter - directBefore, directPer, what,
                        heapBefore >> 20, heapAfter >> 20);
                System.out.print(line);
                Files.writeString(Path.of("target", "long-lived-memory.txt"), line, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
                in.write("exit\n");
                in.flush();
                return new Result(heapPer, directPer);
            }
        } finally {
            if (!driver.waitFor(10, TimeUnit.SECONDS)) {
                driver.destroyForcibly();
            }
        }
    }

    private static Process startDriver(String mode) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        Path log = Path.of("target", "load-driver-" + mode + ".log");
        return new ProcessBuilder(List.of(java, "--sun-misc-unsafe-memory-access=allow",
                "--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                LoadDriver.class.getName(), mode))
                .redirectError(log.toFile())
                .start();
    }

    /** Sends a command and waits for its {@code OPEN n millis} answer; returns the millis. */
    private static long command(Writer in, BufferedReader out, String command) throws IOException {
        in.write(command + "\n");
        in.flush();
        String answer = out.readLine();
        assertThat(answer).as("the load driver's answer to '" + command + "' (see target/load-driver-*.log)")
                .startsWith("OPEN ");
        return Long.parseLong(answer.split(" ")[2]);
    }

    private static long heapAfterGc() throws InterruptedException {
        var memory = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(100);
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    /** Direct memory in use by Turnpike's buffers: Netty's pooled allocator (the server's default allocator). */
    private static long direct() {
        return PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
    }
}
