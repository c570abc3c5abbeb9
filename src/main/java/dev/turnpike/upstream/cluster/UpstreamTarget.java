package dev.turnpike.upstream.cluster;

import dev.turnpike.upstream.ConnectionPools;
import dev.turnpike.upstream.Endpoint;
import dev.turnpike.upstream.lb.XxHash64;
import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;

import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the attempts to one endpoint of a cluster go: a TCP {@link Endpoint}, or a Unix domain socket. Get it with
 * {@link ClusterRuntime#target(dev.turnpike.upstream.lb.EndpointState)} after a pick.
 *
 * <p>Why this exists: the load balancer and the health machinery identify an endpoint by an {@link Endpoint}, a
 * (host, port) record that cannot name a socket file (and may not be changed in phase A). So every endpoint has a
 * {@link #key()}: for TCP the endpoint itself, for a Unix socket a synthetic endpoint
 * ({@code unix-<file name>-<hash>.invalid:1}, see {@link Unix#keyFor}) that is unique per path, stable across
 * instances (sticky cookies and hash tables depend on it), and can never resolve ({@code .invalid} is reserved by
 * RFC 6761), so code that treats it as TCP by mistake fails fast instead of connecting somewhere. Nothing parses the
 * key: the {@code Unix} target carries the path. The proposed clean-up (phase B) is to give {@code Endpoint} itself a
 * Unix form, after which this interface collapses into {@code Endpoint}; see the package documentation.
 */
public sealed interface UpstreamTarget permits UpstreamTarget.Tcp, UpstreamTarget.Unix {

    /** The endpoint that identifies this target in the balancer, the health snapshot and the connection pools. */
    Endpoint key();

    /** For logs and the access log: {@code host:port} or {@code unix:/path}. Never shown to clients. */
    String describe();

    /** A TCP endpoint: connect with the transport's {@link SocketChannel} class to the (resolved) address. */
    record Tcp(Endpoint endpoint) implements UpstreamTarget {
        public Tcp {
            Objects.requireNonNull(endpoint, "endpoint");
        }

        @Override
        public Endpoint key() {
            return endpoint;
        }

        @Override
        public String describe() {
            return endpoint.authority();
        }
    }

    /**
     * A Unix domain socket. Connect with {@link #channelClass(Class)} to {@link #socketAddress(Class)}, both chosen to
     * match the event loops' transport (epoll: {@link EpollDomainSocketChannel} and {@link DomainSocketAddress}; NIO:
     * {@link NioDomainSocketChannel} and {@link UnixDomainSocketAddress}). No name resolution, and no TCP options
     * ({@code TCP_NODELAY}, {@code SO_KEEPALIVE} do not apply). The {@code Host} header is {@link #HOST_HEADER}
     * unless the route preserves the client's.
     *
     * @param path the socket file (absolute once the configuration is loaded)
     * @param key  the synthetic endpoint that stands for it, {@link #keyFor(Path)}
     */
    record Unix(Path path, Endpoint key) implements UpstreamTarget {

        /** The Host header sent to a Unix-socket upstream (as nginx does). */
        public static final String HOST_HEADER = ConnectionPools.Direct.HOST_HEADER;

        public Unix {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(key, "key");
        }

        /** The target of {@code path}, with its synthetic key. */
        public static Unix of(Path path) {
            return new Unix(path, keyFor(path));
        }

        /**
         * The synthetic key of a socket path: {@code unix-<file name, sanitised>-<16 hex digits of XXH64(path)>.invalid}
         * on port 1. Deterministic (the same on every instance), distinct per path, never resolvable.
         */
        public static Endpoint keyFor(Path path) {
            String p = path.toString();
            String hex = Long.toHexString(XxHash64.hash(p));
            hex = "0".repeat(16 - hex.length()) + hex;
            Path file = path.getFileName();
            String name = sanitise(file == null ? "" : file.toString());
            return new Endpoint("unix-" + (name.isEmpty() ? "" : name + "-") + hex + ".invalid", 1);
        }

        private static String sanitise(String s) {
            StringBuilder b = new StringBuilder(Math.min(s.length(), 32));
            for (int i = 0; i < s.length() && b.length() < 32; i++) {
                char c = Character.toLowerCase(s.charAt(i));
                boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                b.append(ok ? c : '-');
            }
            String out = b.toString();
            while (out.startsWith("-")) {
                out = out.substring(1);
            }
            while (out.endsWith("-")) {
                out = out.substring(0, out.length() - 1);
            }
            return out;
        }

        /**
         * The domain-socket channel class for event loops of the transport whose TCP channel class is
         * {@code socketChannelClass}: {@link EpollDomainSocketChannel} for epoll, {@link NioDomainSocketChannel} for
         * NIO. A channel must match its loop's I/O handler, hence the mapping.
         *
         * @throws IllegalArgumentException for a transport without domain sockets here
         */
        public static Class<? extends Channel> channelClass(Class<? extends SocketChannel> socketChannelClass) {
            if (isEpoll(socketChannelClass)) {
                return EpollDomainSocketChannel.class;
            }
            if (NioSocketChannel.class.isAssignableFrom(socketChannelClass)) {
                return NioDomainSocketChannel.class;
            }
            throw new IllegalArgumentException("no Unix domain socket channel for transport "
                    + socketChannelClass.getName());
        }

        /** The address to connect to with {@link #channelClass(Class)} for the same transport. */
        public SocketAddress socketAddress(Class<? extends SocketChannel> socketChannelClass) {
            if (isEpoll(socketChannelClass)) {
                return new DomainSocketAddress(path.toString());
            }
            if (NioSocketChannel.class.isAssignableFrom(socketChannelClass)) {
                return UnixDomainSocketAddress.of(path);
            }
            throw new IllegalArgumentException("no Unix domain socket address for transport "
                    + socketChannelClass.getName());
        }

        private static boolean isEpoll(Class<? extends SocketChannel> c) {
            return EpollSocketChannel.class.isAssignableFrom(c);
        }

        @Override
        public String describe() {
            return "unix:" + path;
        }
    }
}
