package dev.turnpike.upstream;

import io.netty.util.NetUtil;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Objects;

/**
 * One upstream server: a host (name or IP literal, without brackets) and a port. It is the key of the
 * connection pools, so two routes that name the same server share connections on each event loop.
 */
public record Endpoint(String host, int port) {

    public Endpoint {
        Objects.requireNonNull(host, "host");
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("empty upstream host");
        }
        host = host.toLowerCase(Locale.ROOT);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be between 1 and 65535, got " + port);
        }
    }

    /** The endpoint of an {@code http://host[:port]} URI (port 80 when absent). */
    public static Endpoint of(URI uri) {
        return new Endpoint(uri.getHost(), uri.getPort() < 0 ? 80 : uri.getPort());
    }

    /** {@code host:port} with IPv6 literals bracketed: for logs and the access log, never for clients. */
    public String authority() {
        return (isIpv6Literal() ? "[" + host + "]" : host) + ":" + port;
    }

    /** The value of a Host header naming this endpoint (the port is left out when it is 80). */
    public String hostHeader() {
        String h = isIpv6Literal() ? "[" + host + "]" : host;
        return port == 80 ? h : h + ":" + port;
    }

    public boolean isIpLiteral() {
        return NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host);
    }

    private boolean isIpv6Literal() {
        return host.indexOf(':') >= 0;
    }

    /** The socket address when the host is an IP literal (no name lookup), else null. */
    public InetSocketAddress literalAddress() {
        byte[] bytes = NetUtil.createByteArrayFromIpAddressString(host);
        if (bytes == null) {
            return null;
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(bytes), port);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        return authority();
    }
}
