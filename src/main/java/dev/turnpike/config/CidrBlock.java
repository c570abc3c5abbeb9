package dev.turnpike.config;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 or IPv6 address block such as {@code 10.0.0.0/8} or {@code ::1/128}. */
public record CidrBlock(byte[] network, int prefixLength, String text) {

    /** Parses {@code addr} or {@code addr/len} given as a literal address (never a host name: no DNS). */
    public static CidrBlock parse(String text) {
        String s = text.trim();
        int slash = s.indexOf('/');
        String addr = slash < 0 ? s : s.substring(0, slash);
        if (!isLiteral(addr)) {
            throw new IllegalArgumentException("an IP address or CIDR block such as 10.0.0.0/8, got '" + text + "'");
        }
        byte[] bytes;
        try {
            bytes = InetAddress.getByName(addr).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("an IP address or CIDR block such as 10.0.0.0/8, got '" + text + "'");
        }
        int max = bytes.length * 8;
        int len = max;
        if (slash >= 0) {
            try {
                len = Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                len = -1;
            }
            if (len < 0 || len > max) {
                throw new IllegalArgumentException("a prefix length between 0 and " + max + ", got '" + text + "'");
            }
        }
        byte[] net = bytes.clone();
        for (int i = 0; i < net.length; i++) {
            int keep = Math.max(0, Math.min(8, len - i * 8));
            net[i] &= (byte) (0xFF << (8 - keep));
        }
        return new CidrBlock(net, len, s);
    }

    private static boolean isLiteral(String addr) {
        if (addr.isEmpty()) {
            return false;
        }
        if (addr.indexOf(':') >= 0) {
            return addr.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.');
        }
        return addr.chars().allMatch(c -> (c >= '0' && c <= '9') || c == '.');
    }

    public boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        if (a.length != network.length) {
            return false;
        }
        int full = prefixLength / 8;
        for (int i = 0; i < full; i++) {
            if (a[i] != network[i]) {
                return false;
            }
        }
        int rest = prefixLength % 8;
        if (rest == 0) {
            return true;
        }
        int mask = 0xFF << (8 - rest);
        return (a[full] & mask) == (network[full] & mask);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CidrBlock c && c.text.equals(text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    @Override
    public String toString() {
        return text;
    }
}
