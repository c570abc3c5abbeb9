package dev.turnpike.handler;

import io.netty.channel.socket.SocketChannel;

import java.util.concurrent.Executor;

/**
 * Runtime resources a handler may need when it is built.
 *
 * @param socketChannelClass client socket class matching the event loops' transport (for upstream connections,
 *                           which are made on the client connection's own event loop)
 * @param blockingExecutor   bounded pool for work that may block (file system calls); never the event loop
 */
public record HandlerContext(Class<? extends SocketChannel> socketChannelClass, Executor blockingExecutor) {}
