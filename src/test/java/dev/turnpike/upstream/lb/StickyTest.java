package dev.turnpike.upstream.lb;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.turnpike.upstream.lb.LbTesting.backup;
import static dev.turnpike.upstream.lb.LbTesting.uniform;
import static org.assertj.core.api.Assertions.assertThat;

/** Cookie affinity: pins, re-pins when the pinned endpoint cannot take the request, never leaks addresses. */
class StickyTest {
    private final LbOptions options = LbOptions.DEFAULTS.withSticky("route", LeastConnections.NAME);

    private static BasicPickContext withCookie(String value) {
        return new BasicPickContext().cookie("route", value);
    }

    @Test
    void aNewClientGetsACookieAndStaysPinned() {
        List<EndpointState> eps = uniform(4);
        ClusterBalancer cluster = new ClusterBalancer("c", Sticky.NAME, options, eps);
        PickResult first = cluster.pick(PickContext.EMPTY);
        assertThat(first.setCookieName()).isEqualTo("route");
        assertThat(first.setCookieValue()).matches("[0-9a-f]{16}");
        for (int i = 0; i < 200; i++) {
            PickResult again = cluster.pick(withCookie(first.setCookieValue()));
            assertThat(again.endpoint()).isSameAs(first.endpoint());
            assertThat(again.setCookieName()).isNull();
            again.endpoint().onRequestStart(); // load does not move a pinned client
        }
    }

    @Test
    void cookieValuesAreOpaqueStableAndSalted() {
        List<EndpointState> eps = uniform(3);
        Sticky a = (Sticky) LoadBalancers.create(Sticky.NAME, eps, options);
        Sticky b = (Sticky) LoadBalancers.create(Sticky.NAME, uniform(3), options);
        Sticky salted = (Sticky) LoadBalancers.create(Sticky.NAME, eps, options.withStickySalt("s3cret"));
        for (int i = 0; i < 3; i++) {
            String v = a.cookieValueOf(eps.get(i));
            assertThat(v).doesNotContain(eps.get(i).endpoint().host()).doesNotContain("8080");
            assertThat(b.cookieValueOf(b.endpoints().get(i))).isEqualTo(v); // same on another instance
            assertThat(salted.cookieValueOf(eps.get(i))).isNotEqualTo(v);
        }
    }

    @Test
    void aDownPinnedEndpointIsReplacedAndTheCookieReissued() {
        List<EndpointState> eps = uniform(3);
        ClusterBalancer cluster = new ClusterBalancer("c", Sticky.NAME, options, eps);
        Sticky sticky = (Sticky) cluster.snapshot().balancer();
        String pin = sticky.cookieValueOf(eps.get(1));
        assertThat(cluster.pick(withCookie(pin)).endpoint()).isSameAs(eps.get(1));
        eps.get(1).markDown("health check");
        PickResult r = cluster.pick(withCookie(pin));
        assertThat(r.endpoint()).isNotSameAs(eps.get(1));
        assertThat(r.setCookieName()).isEqualTo("route");
        assertThat(r.setCookieValue()).isEqualTo(((Sticky) cluster.snapshot().balancer()).cookieValueOf(r.endpoint()));
        // the client follows its new cookie
        assertThat(cluster.pick(withCookie(r.setCookieValue())).endpoint()).isSameAs(r.endpoint());
    }

    @Test
    void anUnknownOrRemovedPinIsReplaced() {
        List<EndpointState> eps = new ArrayList<>(uniform(3));
        ClusterBalancer cluster = new ClusterBalancer("c", Sticky.NAME, options, eps);
        String pin = ((Sticky) cluster.snapshot().balancer()).cookieValueOf(eps.get(0));
        assertThat(cluster.pick(withCookie("0123456789abcdef")).setCookieValue()).isNotNull();
        cluster.updateEndpoints(eps.subList(1, 3));
        PickResult r = cluster.pick(withCookie(pin));
        assertThat(r.endpoint()).isNotSameAs(eps.get(0));
        assertThat(r.setCookieValue()).isNotNull();
    }

    @Test
    void aRetryLeavesTheTriedPinnedEndpoint() {
        List<EndpointState> eps = uniform(3);
        Sticky sticky = (Sticky) LoadBalancers.create(Sticky.NAME, eps, options);
        BasicPickContext ctx = withCookie(sticky.cookieValueOf(eps.get(0))).tried(eps.get(0));
        PickResult r = sticky.pick(ctx);
        assertThat(r.endpoint()).isNotSameAs(eps.get(0));
        assertThat(r.setCookieValue()).isEqualTo(sticky.cookieValueOf(r.endpoint()));
    }

    @Test
    void drainingPinsAreHonouredOnlyWhenAllowed() {
        List<EndpointState> eps = uniform(3);
        eps.get(2).markDraining();
        Sticky strict = (Sticky) LoadBalancers.create(Sticky.NAME, eps, options);
        String pin = strict.cookieValueOf(eps.get(2));
        assertThat(strict.pick(withCookie(pin)).endpoint()).isNotSameAs(eps.get(2));
        Sticky lenient = (Sticky) LoadBalancers.create(Sticky.NAME, eps, options.withStickyAllowDraining(true));
        PickResult r = lenient.pick(withCookie(pin));
        assertThat(r.endpoint()).isSameAs(eps.get(2));
        assertThat(r.setCookieName()).isNull();
        // but a draining endpoint never gets a new client
        for (int i = 0; i < 1000; i++) {
            assertThat(lenient.pick(PickContext.EMPTY).endpoint()).isNotSameAs(eps.get(2));
        }
    }

    @Test
    void clientsPinnedToABackupMoveBackWhenAPrimaryIsUp() {
        List<EndpointState> eps = new ArrayList<>(uniform(2));
        eps.add(backup(9, 1));
        eps.get(0).markDown("x");
        eps.get(1).markDown("x");
        ClusterBalancer cluster = new ClusterBalancer("c", Sticky.NAME, options, eps);
        PickResult onBackup = cluster.pick(PickContext.EMPTY);
        assertThat(onBackup.endpoint()).isSameAs(eps.get(2));
        assertThat(cluster.pick(withCookie(onBackup.setCookieValue())).endpoint()).isSameAs(eps.get(2));
        eps.get(0).markUp();
        PickResult back = cluster.pick(withCookie(onBackup.setCookieValue()));
        assertThat(back.endpoint()).isSameAs(eps.get(0));
        assertThat(back.setCookieValue()).isNotNull();
    }

    @Test
    void inPanicAPinnedDownEndpointIsKept() {
        List<EndpointState> eps = uniform(3);
        for (EndpointState e : eps) {
            e.markDown("x");
        }
        Sticky sticky = (Sticky) LoadBalancers.create(Sticky.NAME, eps, options);
        PickResult r = sticky.pick(withCookie(sticky.cookieValueOf(eps.get(1))));
        assertThat(r.endpoint()).isSameAs(eps.get(1));
        assertThat(r.panic()).isTrue();
        PickResult fresh = sticky.pick(PickContext.EMPTY);
        assertThat(fresh.panic()).isTrue();
        assertThat(fresh.setCookieValue()).isNotNull();
    }
}
