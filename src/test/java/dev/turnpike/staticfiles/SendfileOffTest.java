package dev.turnpike.staticfiles;

import dev.turnpike.testing.RawClient;
import dev.turnpike.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

/** A listener with {@code sendfile: false} serves the same bytes through the chunked, user-space path. */
class SendfileOffTest {
    @TempDir
    Path tmp;

    @Test
    void filesRangesAndHeadAreIdenticalWithoutSendfile() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("www"));
        long size = 5L * 1024 * 1024 + 123;
        String digest = StaticFixture.writeRandom(root.resolve("blob.bin"), size);
        Files.writeString(root.resolve("small.txt"), "0123456789abcdef");
        String yaml = """
                listeners:
                  - address: "127.0.0.1:0"
                    sendfile: false
                sites:
                  - routes:
                      - static: "%s"
                """.formatted(root);
        try (TestServer server = TestServer.start(yaml, tmp)) {
            HttpClient client = HttpClient.newHttpClient();
            HttpResponse<InputStream> whole = client.send(HttpRequest.newBuilder(server.uri("/blob.bin")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(whole.statusCode()).isEqualTo(200);
            assertThat(whole.headers().firstValueAsLong("content-length")).hasValue(size);
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            try (InputStream in = whole.body()) {
                byte[] buf = new byte[64 * 1024];
                int n;
                while ((n = in.read(buf)) > 0) {
                    sha.update(buf, 0, n);
                }
            }
            assertThat(HexFormat.of().formatHex(sha.digest())).isEqualTo(digest);

            try (RawClient c = server.connect()) {
                c.send("GET /small.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=2-5\r\n\r\n");
                RawClient.Response range = c.read();
                assertThat(range.status).isEqualTo(206);
                assertThat(range.bodyText()).isEqualTo("2345");
                c.send("HEAD /small.txt HTTP/1.1\r\nHost: a\r\n\r\n");
                RawClient.Response head = c.readHead();
                assertThat(head.status).isEqualTo(200);
                assertThat(head.header("content-length")).isEqualTo("16");
                // The connection is still in step after HEAD: no stray body bytes were written.
                c.send("GET /small.txt HTTP/1.1\r\nHost: a\r\n\r\n");
                assertThat(c.read().bodyText()).isEqualTo("0123456789abcdef");
            }
        }
    }
}
