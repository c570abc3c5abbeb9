package dev.turnpike.upstream;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Turns an upstream host name into an address. Blocking: called only on the blocking executor. The system lookup
 * is the default; tests give a name an address they can change to see re-resolution at work.
 */
@FunctionalInterface
public interface HostLookup {
    HostLookup SYSTEM = InetAddress::getByName;

    InetAddress lookup(String host) throws UnknownHostException;
}
