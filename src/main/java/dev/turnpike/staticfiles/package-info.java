/**
 * Static file serving: the {@code static:} handler of a route.
 *
 * <p>This package owns everything between a normalised request path and the bytes of a file on the wire:
 * <ul>
 *   <li>{@link dev.turnpike.staticfiles.StaticPathResolver} turns the request path into file-system segments
 *       (strip_prefix, full percent-decoding, refusal of traversal, encoded separators, control characters and
 *       hidden dotfiles). Refusals that depend only on the request bytes are 400; everything that depends on the
 *       file system (missing, hidden, symlink out of root, not a regular file) is an indistinguishable 404.</li>
 *   <li>{@link dev.turnpike.staticfiles.FileLookup} does stat + realpath with a short-lived metadata cache (about
 *       one second, like nginx's open_file_cache) and the "never outside root" check on real paths.</li>
 *   <li>{@link dev.turnpike.staticfiles.Preconditions}, {@link dev.turnpike.staticfiles.ByteRanges},
 *       {@link dev.turnpike.staticfiles.AcceptEncoding} and {@link dev.turnpike.staticfiles.MimeTypes} are the
 *       pure HTTP rules (RFC 9110 §13 conditionals, §14 ranges, content-coding negotiation, media types).</li>
 *   <li>{@link dev.turnpike.staticfiles.DirectoryListing} renders HTML or JSON listings.</li>
 *   <li>{@link dev.turnpike.staticfiles.StaticFileHandler} ties them together: all file-system work runs on the
 *       blocking executor, the response is written back on the exchange's event loop, by sendfile
 *       ({@link io.netty.channel.DefaultFileRegion}) when the transport allows it, else as a
 *       {@link io.netty.handler.stream.ChunkedNioFile}.</li>
 * </ul>
 */
package dev.turnpike.staticfiles;
