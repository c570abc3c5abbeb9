package dev.turnpike.server;

import dev.turnpike.config.ServerSettings;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/** The I/O transport: native epoll on Linux when it loads, NIO otherwise (or when asked for). */
public record Transport(String name, IoHandlerFactory ioHandlerFactory,
                        Class<? extends ServerSocketChannel> serverChannelClass,
                        Class<? extends SocketChannel> socketChannelClass) {

    /**
     * Loads the native transport's library now (extracting it, linking it: some 30 ms), so that {@link #select} finds
     * it loaded; safe from any thread, once per JVM. Does nothing where epoll does not exist.
     */
    public static void loadNative() {
        Epoll.isAvailable();
    }

    public static Transport select(ServerSettings.Transport wanted) {
        if (wanted != ServerSettings.Transport.NIO && Epoll.isAvailable()) {
            return new Transport("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class,
                    EpollSocketChannel.class);
        }
        if (wanted == ServerSettings.Transport.EPOLL) {
            throw new IllegalStateException("transport epoll was configured but is not available: "
                    + Epoll.unavailabilityCause());
        }
        return new Transport("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class, NioSocketChannel.class);
    }
}
