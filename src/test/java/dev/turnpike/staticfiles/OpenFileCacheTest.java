package dev.turnpike.staticfiles;

import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The open-file cache (cache hits answered on the event loop without a file-system call): what it serves must
 * always be what the disk says when the request arrives, however the file is changed.
 */
class OpenFileCacheTest {
    @TempDir
    static Path tmp;

    static Path root;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        root = Files.createDirectories(tmp.resolve("www"));
        server = TestServer.start("""
                listen: "127.0.0.1:0"
                access_log: off
                sites:
                  - routes:
                      - static: "%s"
                """.formatted(root), tmp);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static RawClient.Response request(String method, String target, String... headers) throws Exception {
        try (RawClient c = server.connect()) {
            StringBuilder sb = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: t\r\n");
            for (String h : headers) {
                sb.append(h).append("\r\n");
            }
            c.send(sb.append("Connection: close\r\n\r\n").toString());
            return method.equals("HEAD") ? c.readHead() : c.read();
        }
    }

    static RawClient.Response get(String target, String... headers) throws Exception {
        return request("GET", target, headers);
    }

    /** Repeats so that later requests are cache hits. */
    static void assertServes(String target, String body, Path file) throws Exception {
        for (int i = 0; i < 3; i++) {
            RawClient.Response r = get(target);
            assertThat(r.status).isEqualTo(200);
            assertThat(r.bodyText()).isEqualTo(body);
            assertThat(r.header("etag")).isEqualTo(StaticFixture.etagOf(file));
            assertThat(r.header("content-length")).isEqualTo(String.valueOf(body.length()));
        }
    }

    @Test
    void inPlaceChangesOfSmallFilesAreSeenAtOnce() throws Exception {
        Path f = root.resolve("small.txt");
        Files.writeString(f, "one");
        assertServes("/small.txt", "one", f);
        Files.writeString(f, "two"); // same size, same second: only the content differs
        assertServes("/small.txt", "two", f);
        Files.writeString(f, "three, longer");
        assertServes("/small.txt", "three, longer", f);
    }

    @Test
    void inPlaceChangesOfLargeFilesAreSeenAtOnce() throws Exception {
        Path f = root.resolve("large.txt");
        String a = "a".repeat(100_000);
        String b = "b".repeat(100_001);
        Files.writeString(f, a);
        assertServes("/large.txt", a, f);
        Files.writeString(f, b);
        assertServes("/large.txt", b, f);
        RawClient.Response range = get("/large.txt", "Range: bytes=5-9");
        assertThat(range.status).isEqualTo(206);
        assertThat(range.bodyText()).isEqualTo("bbbbb");
    }

    @Test
    void atomicReplacementIsSeenAtOnce() throws Exception {
        Path f = root.resolve("deployed.txt");
        Files.writeString(f, "release-1");
        assertServes("/deployed.txt", "release-1", f);
        Path next = root.resolve(".deployed.tmp");
        Files.writeString(next, "release-2");
        Files.move(next, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        assertServes("/deployed.txt", "release-2", f);
    }

    @Test
    void deletionIsSeenAtOnce() throws Exception {
        Path f = root.resolve("gone.txt");
        Files.writeString(f, "here");
        assertServes("/gone.txt", "here", f);
        Files.delete(f);
        assertThat(get("/gone.txt").status).isEqualTo(404);
        Files.writeString(f, "back");
        assertServes("/gone.txt", "back", f);
    }

    @Test
    void lostReadPermissionIsSeenAtOnce() throws Exception {
        assumeTrue(!"root".equals(System.getProperty("user.name")), "root reads anything");
        Path f = root.resolve("private.txt");
        Files.writeString(f, "secret");
        assertServes("/private.txt", "secret", f);
        Files.setPosixFilePermissions(f, java.nio.file.attribute.PosixFilePermissions.fromString("---------"));
        try {
            assertThat(get("/private.txt").status).isEqualTo(403);
        } finally {
            Files.setPosixFilePermissions(f, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    @Test
    void headRangesAndConditionsAreAnsweredFromTheCacheLikeFromDisk() throws Exception {
        Path f = root.resolve("digits.txt");
        Files.writeString(f, "0123456789");
        assertServes("/digits.txt", "0123456789", f);
        RawClient.Response head = request("HEAD", "/digits.txt");
        assertThat(head.status).isEqualTo(200);
        assertThat(head.header("content-length")).isEqualTo("10");
        assertThat(head.header("etag")).isEqualTo(StaticFixture.etagOf(f));
        RawClient.Response two = get("/digits.txt", "Range: bytes=0-0,5-5");
        assertThat(two.status).isEqualTo(206);
        assertThat(two.header("content-type")).startsWith("multipart/byteranges");
        RawClient.Response notModified = get("/digits.txt", "If-None-Match: " + StaticFixture.etagOf(f));
        assertThat(notModified.status).isEqualTo(304);
        assertThat(get("/digits.txt", "Range: bytes=20-").status).isEqualTo(416);
    }

    @Test
    void cachedDescriptorsAreClosedWithTheServer() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("own"));
        Path f = dir.resolve("big.bin");
        Files.write(f, new byte[200_000]);
        Path real = f.toRealPath();
        try (TestServer own = TestServer.start("""
                server: { event_loops: 1 }
                listen: "127.0.0.1:0"
                access_log: off
                sites:
                  - routes:
                      - static: "%s"
                """.formatted(dir), tmp)) {
            for (int i = 0; i < 3; i++) {
                try (RawClient c = own.connect()) {
                    c.send("GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
                    assertThat(c.read().status).isEqualTo(200);
                }
            }
            // Kept open for the next request: one descriptor per event loop, however many requests (none without
            // inotify).
            FileEvents probe = FileEvents.open();
            long expected = probe == null ? 0 : 1;
            if (probe != null) {
                probe.close();
            }
            assertThat(openDescriptors(real)).isEqualTo(expected);
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (openDescriptors(real) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(openDescriptors(real)).isZero();
    }

    @Test
    void fileEventsReportChangesBeforeTheWriterReturns() throws Exception {
        FileEvents events = FileEvents.open();
        assumeTrue(events != null, "no inotify here");
        try {
            Path f = tmp.resolve("watched.txt");
            Files.writeString(f, "x");
            int fileWd = events.watch(f, FileEvents.FILE_MASK);
            int dirWd = events.watch(tmp, FileEvents.DIR_MASK);
            assertThat(fileWd).isNotNegative();
            assertThat(dirWd).isNotNegative();
            List<Integer> seen = new ArrayList<>();
            IntConsumer sink = seen::add;
            events.drain(sink);
            assertThat(seen).isEmpty();
            Files.writeString(f, "y", StandardCharsets.UTF_8);
            events.drain(sink);
            assertThat(seen).contains(fileWd);
            seen.clear();
            Files.writeString(tmp.resolve("sibling.txt"), "z");
            events.drain(sink);
            assertThat(seen).contains(dirWd);
        } finally {
            events.close();
        }
    }

    private static long openDescriptors(Path real) throws Exception {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.filter(p -> {
                try {
                    return Files.readSymbolicLink(p).equals(real);
                } catch (Exception e) {
                    return false;
                }
            }).count();
        }
    }
}
