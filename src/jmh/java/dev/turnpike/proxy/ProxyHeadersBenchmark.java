package dev.turnpike.proxy;

import dev.turnpike.accesslog.AccessLog;
import dev.turnpike.http.ErrorResponder;
import dev.turnpike.http.Exchange;
import dev.turnpike.http.ExchangeTransport;
import dev.turnpike.http.HttpServices;
import dev.turnpike.http.RequestTarget;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;

/**
 * Header rewriting of {@link ProxyHeaders}: the request headers sent upstream (hop-by-hop removal,
 * X-Forwarded-*, Forwarded, the request ID and one configured header) and the response clean-up.
 */
@State(Scope.Thread)
public class ProxyHeadersBenchmark {
    private ProxyHeaders rules;
    private Exchange exchange;
    private HttpHeaders upstreamResponse;

    @Setup
    public void setUp() {
        rules = new ProxyHeaders(AsciiString.cached("app.internal:8080"), false, Map.of("X-Env", "bench"));
        // Field names are AsciiStrings, as both decoders (ours for requests, Netty's for responses) make them.
        HttpHeaders h = new DefaultHttpHeaders(false)
                .add(new AsciiString("Host"), "api.example.com")
                .add(new AsciiString("User-Agent"),
                        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
                .add(new AsciiString("Accept"), "application/json")
                .add(new AsciiString("Accept-Encoding"), "gzip, deflate, br")
                .add(new AsciiString("Connection"), "keep-alive")
                .add(new AsciiString("Cookie"), "session=3f2a9c0d1e7b4a65b0c2d4e6f8a0b1c3")
                .add(new AsciiString("X-Request-ID"), "3f2a9c0d1e7b4a65b0c2d4e6f8a0b1c3");
        HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/api/users/42", h);
        HttpServices services = new HttpServices(e -> { }, new ErrorResponder(), AccessLog.NONE,
                AsciiString.cached("Turnpike"), AsciiString.cached("x-request-id"), List.of());
        exchange = new Exchange(noTransport(), services, req, RequestTarget.parse("/api/users/42"),
                "api.example.com", "http", new dev.turnpike.http.ClientPeer(new InetSocketAddress("192.0.2.17", 50123)),
                new InetSocketAddress("127.0.0.1", 8080));
        upstreamResponse = new DefaultHttpHeaders(false)
                .add(new AsciiString("Content-Type"), "application/json")
                .add(new AsciiString("Content-Length"), "512")
                .add(new AsciiString("Connection"), "keep-alive")
                .add(new AsciiString("Keep-Alive"), "timeout=5")
                .add(new AsciiString("Date"), "Sat, 22 Nov 2026 06:55:36 GMT")
                .add(new AsciiString("Cache-Control"), "no-store");
    }

    @Benchmark
    public HttpHeaders requestHeaders() {
        return rules.requestHeaders(exchange);
    }

    @Benchmark
    public HttpHeaders responseHeaders() {
        HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                new DefaultHttpHeaders(false).set(upstreamResponse));
        ProxyHeaders.cleanResponse(r.headers());
        return r.headers();
    }

    /**
     * requestHeaders() reads only the exchange's request, addresses and services, never its transport: a proxy
     * of the interface, so that methods added to it later need no change here.
     */
    private static ExchangeTransport noTransport() {
        return (ExchangeTransport) Proxy.newProxyInstance(ExchangeTransport.class.getClassLoader(),
                new Class<?>[] {ExchangeTransport.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "protocol" -> "HTTP/1.1";
                    case "zeroCopy" -> false;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }
}
