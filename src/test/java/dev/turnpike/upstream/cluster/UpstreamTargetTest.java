package dev.turnpike.upstream.cluster;

import dev.turnpike.upstream.Endpoint;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class UpstreamTargetTest {

    @TempDir
    Path dir;

    @Test
    void unixKeysAreStableDistinctAndNeverResolvable() {
        Endpoint a = UpstreamTarget.Unix.keyFor(Path.of("/run/App.sock"));
        assertThat(UpstreamTarget.Unix.keyFor(Path.of("/run/App.sock"))).isEqualTo(a);
        assertThat(UpstreamTarget.Unix.keyFor(Path.of("/run/app.sock"))).as("paths are case-sensitive")
                .isNotEqualTo(a);
        assertThat(UpstreamTarget.Unix.keyFor(Path.of("/srv/App.sock"))).isNotEqualTo(a);
        assertThat(a.host()).startsWith("unix-app-sock-").endsWith(".invalid");
        assertThat(a.port()).isEqualTo(1);
        assertThat(a.isIpLiteral()).isFalse();
        assertThat(UpstreamTarget.Unix.keyFor(Path.of("/")).host()).matches("unix-[0-9a-f]{16}\\.invalid");

        UpstreamTarget.Unix u = UpstreamTarget.Unix.of(Path.of("/run/App.sock"));
        assertThat(u.key()).isEqualTo(a);
        assertThat(u.describe()).isEqualTo("unix:/run/App.sock");
        assertThat(new UpstreamTarget.Tcp(new Endpoint("10.0.0.1", 80)).key()).isEqualTo(new Endpoint("10.0.0.1", 80));
    }

    @Test
    void channelAndAddressMatchTheTransport() {
        UpstreamTarget.Unix u = UpstreamTarget.Unix.of(Path.of("/run/app.sock"));
        assertThat(UpstreamTarget.Unix.channelClass(EpollSocketChannel.class)).isEqualTo(EpollDomainSocketChannel.class);
        assertThat(u.socketAddress(EpollSocketChannel.class)).isEqualTo(new DomainSocketAddress("/run/app.sock"));
        assertThat(UpstreamTarget.Unix.channelClass(NioSocketChannel.class)).isEqualTo(NioDomainSocketChannel.class);
        assertThat(u.socketAddress(NioSocketChannel.class))
                .isEqualTo(UnixDomainSocketAddress.of(Path.of("/run/app.sock")));
        assertThatThrownBy(() -> UpstreamTarget.Unix.channelClass(SocketChannel.class))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void connectsOverNio() throws Exception {
        roundTrip(NioIoHandler.newFactory(), NioSocketChannel.class);
    }

    @Test
    void connectsOverEpoll() throws Exception {
        assumeTrue(Epoll.isAvailable(), "epoll is not available here");
        roundTrip(EpollIoHandler.newFactory(), EpollSocketChannel.class);
    }

    /** What phase B's pool would do: connect to a Unix-socket endpoint with the transport's domain channel. */
    private void roundTrip(IoHandlerFactory io, Class<? extends SocketChannel> transport) throws Exception {
        Path socket = dir.resolve("up.sock");
        UpstreamTarget.Unix target = UpstreamTarget.Unix.of(socket);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, io);
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread acceptor = Thread.ofVirtual().start(() -> {
                try (var s = server.accept()) {
                    s.write(ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)));
                } catch (Exception e) {
                    // the test fails on the client side
                }
            });
            CompletableFuture<String> received = new CompletableFuture<>();
            Channel ch = new Bootstrap().group(group).channel(UpstreamTarget.Unix.channelClass(transport))
                    .handler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            try {
                                received.complete(((ByteBuf) msg).toString(StandardCharsets.US_ASCII));
                            } finally {
                                ReferenceCountUtil.release(msg);
                            }
                        }
                    })
                    .connect(target.socketAddress(transport)).sync().channel();
            try {
                assertThat(received.get(5, TimeUnit.SECONDS)).isEqualTo("hello");
            } finally {
                ch.close().sync();
                acceptor.join(2000);
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
