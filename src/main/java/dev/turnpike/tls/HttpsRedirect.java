package dev.turnpike.tls;

import dev.turnpike.http.Exchange;
import dev.turnpike.http.HttpServices;
import dev.turnpike.http.RequestDispatcher;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.util.function.IntSupplier;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * A plain-HTTP listener with {@code redirect_to_https}: every request is answered with a permanent redirect to
 * the same host and URI over HTTPS, before routing. GET and HEAD get 301, which every client follows; other
 * methods get 308, so a client repeats the same method and body.
 */
public final class HttpsRedirect implements RequestDispatcher {
    private static final Pattern SAFE_HOST = Pattern.compile("[a-z0-9._-]+|\\[[0-9a-f:.]+]");
    private static final int DEFAULT_HTTPS_PORT = 443;

    private final IntSupplier port;

    private HttpsRedirect(IntSupplier port) {
        this.port = port;
    }

    /**
     * The services for a redirecting listener.
     *
     * @param port the HTTPS port to name; read per request, so it may be a listener's port bound after this one
     */
    public static Supplier<HttpServices> services(Supplier<HttpServices> snapshot, IntSupplier port) {
        HttpsRedirect redirect = new HttpsRedirect(port);
        return new ListenerServices(snapshot, routed -> redirect);
    }

    @Override
    public void dispatch(Exchange ex) {
        String host = ex.host();
        if (host.isEmpty() || !SAFE_HOST.matcher(host).matches()) {
            ex.sendError(HttpResponseStatus.BAD_REQUEST, "This address only redirects to HTTPS, which needs a valid"
                    + " Host header.");
            return;
        }
        int p = port.getAsInt();
        StringBuilder location = new StringBuilder(16 + host.length() + ex.path().length()).append("https://")
                .append(host);
        if (p != DEFAULT_HTTPS_PORT) {
            location.append(':').append(p);
        }
        location.append(ex.path());
        if (ex.query() != null) {
            location.append('?').append(ex.query());
        }
        boolean safe = ex.method() == HttpMethod.GET || ex.method() == HttpMethod.HEAD;
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                safe ? HttpResponseStatus.MOVED_PERMANENTLY : HttpResponseStatus.PERMANENT_REDIRECT,
                Unpooled.EMPTY_BUFFER);
        r.headers().set(HttpHeaderNames.LOCATION, location.toString());
        ex.respond(r);
    }
}
