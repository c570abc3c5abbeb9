package dev.turnpike.staticfiles;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/** The directory tree the static-file tests serve, with a secret just outside the root. */
final class StaticFixture {
    static final String SECRET = "TOPSECRET-outside-root";
    static final String DOTFILE_SECRET = "DOTFILE-SECRET";
    static final String HELLO = "Hello, world!\n";
    static final String DIGITS = "0123456789abcdefghij";
    static final String JS = "console.log('identity');\n";
    static final String JS_BR = "BROTLI-BYTES-OF-app.js";
    static final String JS_GZ = "GZIP-BYTES-OF-app.js!!";

    final Path base;
    final Path publicDir;
    final Path spaDir;
    final Path listDir;
    boolean fifo;

    StaticFixture(Path base) throws IOException {
        this.base = base;
        write(base.resolve("secret.txt"), SECRET);
        write(base.resolve("outside-dir/secret2.txt"), SECRET);

        publicDir = base.resolve("public");
        write(publicDir.resolve("index.html"), "<h1>home</h1>\n");
        write(publicDir.resolve("hello.txt"), HELLO);
        write(publicDir.resolve("digits.txt"), DIGITS);
        write(publicDir.resolve("empty.txt"), "");
        write(publicDir.resolve("style.css"), "body{}\n");
        write(publicDir.resolve("app.js"), JS);
        write(publicDir.resolve("app.js.br"), JS_BR);
        write(publicDir.resolve("app.js.gz"), JS_GZ);
        write(publicDir.resolve("only-gz.css"), "a{}\n");
        write(publicDir.resolve("only-gz.css.gz"), "GZ-CSS");
        write(publicDir.resolve("data.json"), "{\"a\":1}\n");
        Files.write(publicDir.resolve("image.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G'});
        write(publicDir.resolve("thing.xyz"), "?");
        write(publicDir.resolve("noext"), "?");
        write(publicDir.resolve("docs/index.html"), "<h1>docs</h1>\n");
        write(publicDir.resolve("nodir/file.txt"), "x");
        write(publicDir.resolve("with space/ü.txt"), "umlaut\n");
        write(publicDir.resolve(".env"), DOTFILE_SECRET);
        write(publicDir.resolve(".git/config"), DOTFILE_SECRET);
        write(publicDir.resolve("sub/.hidden.txt"), DOTFILE_SECRET);
        write(publicDir.resolve(".well-known/acme-challenge/token1"), "acme-token\n");
        Files.createSymbolicLink(publicDir.resolve("escape.txt"), Path.of("../secret.txt"));
        Files.createSymbolicLink(publicDir.resolve("escape-dir"), Path.of("../outside-dir"));
        Files.createSymbolicLink(publicDir.resolve("escape-abs.txt"), base.resolve("secret.txt").toAbsolutePath());
        Files.createSymbolicLink(publicDir.resolve("inside-link.txt"), Path.of("hello.txt"));
        Files.createSymbolicLink(publicDir.resolve("to-dotfile.txt"), Path.of(".env"));
        Files.createSymbolicLink(publicDir.resolve("dangling.txt"), Path.of("nope.txt"));
        try {
            Process p = new ProcessBuilder("mkfifo", publicDir.resolve("fifo").toString()).start();
            fifo = p.waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            fifo = false;
        }

        spaDir = base.resolve("spa");
        write(spaDir.resolve("index.html"), "<app>shell</app>\n");
        write(spaDir.resolve("assets/app.js"), "spa();\n");

        listDir = base.resolve("list");
        write(listDir.resolve("a.txt"), "aaa");
        write(listDir.resolve("Zeta.txt"), "z");
        write(listDir.resolve("<script>.txt"), "x");
        write(listDir.resolve("b dir/inner.txt"), "inner");
        write(listDir.resolve(".hidden"), "h");
        Files.setLastModifiedTime(listDir.resolve("a.txt"), FileTime.fromMillis(1_700_000_000_000L));
    }

    static void write(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, content, StandardCharsets.UTF_8);
    }

    /** Writes {@code size} pseudo-random bytes (fixed seed) and returns their SHA-256. */
    static String writeRandom(Path file, long size) throws IOException {
        MessageDigest md = sha256();
        SplittableRandom random = new SplittableRandom(42);
        byte[] buf = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(file)) {
            long left = size;
            while (left > 0) {
                for (int i = 0; i < buf.length; i += 8) {
                    long v = random.nextLong();
                    for (int k = 0; k < 8; k++) {
                        buf[i + k] = (byte) (v >>> (k * 8));
                    }
                }
                int n = (int) Math.min(buf.length, left);
                out.write(buf, 0, n);
                md.update(buf, 0, n);
                left -= n;
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String etagOf(Path file) throws IOException {
        long secs = Math.floorDiv(Files.getLastModifiedTime(file).toMillis(), 1000L);
        return "\"" + Long.toHexString(secs) + "-" + Long.toHexString(Files.size(file)) + "\"";
    }
}
