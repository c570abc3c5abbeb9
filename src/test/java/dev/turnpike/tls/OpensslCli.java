package dev.turnpike.tls;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the openssl command line tool, a TLS client (and OCSP responder) independent of Java and Netty. */
final class OpensslCli {
    private OpensslCli() {}

    record Result(int exit, String output) {
        boolean resumed() {
            return output.contains("Reused, TLS");
        }
    }

    static boolean available() {
        try {
            return run(List.of("version"), "", 10).exit == 0;
        } catch (Exception e) {
            return false;
        }
    }

    /** {@code openssl args...} with {@code stdin}; stdout and stderr together. */
    static Result run(List<String> args, String stdin, int timeoutSeconds) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.US_ASCII));
        p.getOutputStream().close();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream()) {
                in.transferTo(out);
            } catch (Exception e) {
                // process killed
            }
        });
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            reader.join(2000);
            return new Result(-1, out.toString(StandardCharsets.ISO_8859_1) + "\n(timed out)");
        }
        reader.join(2000);
        return new Result(p.exitValue(), out.toString(StandardCharsets.ISO_8859_1));
    }

    /**
     * Connects with TLS 1.2, asks to renegotiate (s_client's R command), then sends a request; returns the output.
     */
    static Result renegotiate(int port, String serverName, Path caFile) throws Exception {
        List<String> cmd = List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-tls1_2", "-servername",
                serverName, "-CAfile", caFile.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream()) {
                in.transferTo(out);
            } catch (Exception e) {
                // process killed
            }
        });
        var stdin = p.getOutputStream();
        Thread.sleep(1500); // s_client reads commands only once the handshake is done
        stdin.write("R\n".getBytes(StandardCharsets.US_ASCII));
        stdin.flush();
        Thread.sleep(1500);
        try {
            stdin.write(("GET / HTTP/1.1\r\nHost: " + serverName + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            stdin.flush();
            Thread.sleep(1500); // s_client quits at the end of its input: give the answer time to arrive first
            stdin.close();
        } catch (java.io.IOException e) {
            // the server already closed the connection
        }
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        reader.join(2000);
        return new Result(p.isAlive() ? -1 : p.exitValue(), out.toString(StandardCharsets.ISO_8859_1));
    }

    /**
     * A TLS client connection that sends one HTTP request and reads the answer (so TLS 1.3 session tickets,
     * which arrive after the handshake, are received); {@code extra} adds options such as -tls1_1 or -sess_out.
     */
    static Result client(int port, String serverName, Path caFile, List<String> extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("s_client", "-connect", "127.0.0.1:" + port, "-ign_eof"));
        if (serverName != null) {
            args.addAll(List.of("-servername", serverName));
        } else {
            args.add("-noservername");
        }
        if (caFile != null) {
            args.addAll(List.of("-CAfile", caFile.toString()));
        }
        args.addAll(extra);
        String host = serverName == null ? "localhost" : serverName;
        return run(args, "GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n", 20);
    }
}
