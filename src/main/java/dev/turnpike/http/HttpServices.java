package dev.turnpike.http;

import dev.turnpike.accesslog.AccessLog;
import dev.turnpike.config.CidrBlock;
import io.netty.util.AsciiString;

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
 */
public record HttpServices(RequestDispatcher dispatcher, ErrorResponder errors, AccessLog accessLog,
                           AsciiString serverHeader, AsciiString requestIdHeader, List<CidrBlock> trustedProxies) {

    public HttpServices {
        trustedProxies = List.copyOf(trustedProxies);
    }

    public boolean isTrustedProxy(InetAddress address) {
        for (CidrBlock block : trustedProxies) {
            if (block.contains(address)) {
                return true;
            }
        }
        return false;
    }
}
