package dev.turnpike.cli;

import dev.turnpike.config.ServerSettings;
import dev.turnpike.server.Transport;
import io.netty.channel.epoll.Epoll;
import io.netty.util.Version;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Versions of Turnpike and what it runs on, for {@code turnpike version} and the startup line. */
final class VersionInfo {
    private VersionInfo() {}

    /** Implementation-Version from the jar's manifest; {@code dev} when running from classes (tests, IDE). */
    static String turnpike() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null || v.isBlank() ? "dev" : v;
    }

    static String java() {
        String vendor = System.getProperty("java.vendor", "");
        return Runtime.version() + (vendor.isBlank() ? "" : " (" + vendor + ")");
    }

    static String netty() {
        Map<String, Version> versions = Version.identify(VersionInfo.class.getClassLoader());
        for (String artifact : List.of("netty-common", "netty-transport", "netty-codec-http")) {
            Version v = versions.get(artifact);
            if (v != null) {
                return v.artifactVersion();
            }
        }
        return versions.values().stream().findFirst().map(Version::artifactVersion).orElse("unknown");
    }

    /** The transport {@code server.transport: auto} (the default) would use, and why. */
    static String transport() {
        try {
            String name = Transport.select(ServerSettings.Transport.AUTO).name();
            if (name.equals("epoll")) {
                return "epoll (native, Linux)";
            }
            Throwable cause = Epoll.unavailabilityCause();
            return name + (cause == null ? "" : " (epoll is not available: " + cause.getMessage() + ")");
        } catch (RuntimeException | LinkageError e) {
            return "unknown (" + e + ")";
        }
    }

    static List<String> lines() {
        List<String> lines = new ArrayList<>();
        lines.add("Turnpike " + turnpike());
        lines.add("Java " + java());
        lines.add("Netty " + netty());
        lines.add("Transport " + transport());
        return lines;
    }
}
