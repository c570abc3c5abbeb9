/**
 * gRPC as an edge server sees it: recognising gRPC requests ({@code application/grpc*}), the status codes and the
 * {@code grpc-status}/{@code grpc-message} fields Turnpike sets when it answers a call itself, the {@code grpc-timeout}
 * deadline, the length-prefixed message framing, gRPC-Web translation, and the few protobuf bytes of the standard
 * health-checking protocol (encoded by hand: two one-field messages do not justify a protobuf runtime).
 *
 * <p>Must not: parse application messages (they are opaque bytes to a proxy), or know about routes and clusters.
 */
package dev.turnpike.grpc;
