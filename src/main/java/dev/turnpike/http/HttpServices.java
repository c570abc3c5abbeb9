package dev.turnpike.http;

import dev.turnpike.accesslog.AccessLog;
import dev.turnpike.config.CidrBlock;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.netty.util.NetUtil;

import java.net.InetAddress;
import java.util.List;

/**
 * What exchanges need from the current configuration snapshot. A request captures the instance current
 * when its head arrived and keeps it to the end, so a reload never changes a request half-way.
 *
 * @param dispatcher      routes exchanges to handlers
 * @param errors          builds the responses for errors Turnpike generates
 * @param accessLog       where finished exchanges go
 * @param serverHeader    value of the Server header, or null to send none
 * @param requestIdHeader header carrying the request ID
 * @param trustedProxies  peers whose forwarding headers are believed
 * @param clientSubjectHeaders every header configured to carry a verified client certificate subject upstream
 *                        (lower case): removed from every proxied request, then set from the connection's own
 *                        client certificate, so a client can never supply one
 * @param tracker         told when each exchange on these services starts and ends
 */
public record HttpServices(RequestDispatcher dispatcher, ErrorResponder errors, AccessLog accessLog,
                           AsciiString serverHeader, AsciiString requestIdHeader, List<CidrBlock> trustedProxies,
                           List<AsciiString> clientSubjectHeaders, ExchangeTracker tracker) {

    /** Not among Netty's names; named once here for the proxy's forwarding headers and {@link #clientAddress}. */
    public static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");

    public HttpServices {
        trustedProxies = List.copyOf(trustedProxies);
        clientSubjectHeaders = List.copyOf(clientSubjectHeaders);
    }

    /** Without client-certificate subject headers and without a tracker. */
    public HttpServices(RequestDispatcher dispatcher, ErrorResponder errors, AccessLog accessLog,
                        AsciiString serverHeader, AsciiString requestIdHeader, List<CidrBlock> trustedProxies) {
        this(dispatcher, errors, accessLog, serverHeader, requestIdHeader, trustedProxies, List.of(),
                ExchangeTracker.NONE);
    }

    /** These services with exchanges handed to {@code d} (a listener that answers before routing). */
    public HttpServices withDispatcher(RequestDispatcher d) {
        return new HttpServices(d, errors, accessLog, serverHeader, requestIdHeader, trustedProxies,
                clientSubjectHeaders, tracker);
    }

    /** These services, with exchanges counted by {@code t}. */
    public HttpServices withTracker(ExchangeTracker t) {
        return new HttpServices(dispatcher, errors, accessLog, serverHeader, requestIdHeader, trustedProxies,
                clientSubjectHeaders, t);
    }

    public boolean isTrustedProxy(InetAddress address) {
        for (CidrBlock block : trustedProxies) {
            if (block.contains(address)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The client behind {@code peer}: the peer itself, unless it is a trusted proxy; then, reading X-Forwarded-For
     * from the right, the first address that is not a trusted proxy (nginx's {@code real_ip_recursive}), or the
     * leftmost when every hop is trusted. An entry that is not an IP literal ends the walk there: what lies to its
     * left was written by someone we cannot vouch for. No name lookups.
     */
    public InetAddress clientAddress(InetAddress peer, HttpHeaders headers) {
        if (trustedProxies.isEmpty() || !isTrustedProxy(peer)) {
            return peer;
        }
        List<String> lines = headers.getAll(X_FORWARDED_FOR);
        InetAddress client = peer;
        for (int line = lines.size() - 1; line >= 0; line--) {
            String value = lines.get(line);
            int end = value.length();
            while (end > 0) {
                int comma = value.lastIndexOf(',', end - 1);
                InetAddress hop = NetUtil.createInetAddressFromIpAddressString(value.substring(comma + 1, end).strip());
                if (hop == null) {
                    return client;
                }
                client = hop;
                if (!isTrustedProxy(hop)) {
                    return hop;
                }
                end = comma < 0 ? 0 : comma;
            }
        }
        return client;
    }
}
