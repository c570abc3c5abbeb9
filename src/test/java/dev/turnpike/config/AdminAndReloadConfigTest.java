package dev.turnpike.config;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The {@code admin} section and the reload and logging keys of {@code server}. */
class AdminAndReloadConfigTest {
    private static final String TOKEN = "s3cret-token-0123456789";
    private static final String SITES = """
            listen: "127.0.0.1:8080"
            sites:
              - routes:
                  - respond: ok
            """;

    private static TurnpikeConfig parse(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, "t.yaml", Path.of("").toAbsolutePath(), Map.of("ADMIN_TOKEN", TOKEN));
    }

    private static List<String> problems(String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
        assertThat(e).as("expected a ConfigException").isNotNull();
        return e.problems().stream().map(ConfigProblem::toString).toList();
    }

    @Test
    void reloadAndLogSettingsHaveDefaultsAndCanBeSet() throws Exception {
        ServerSettings d = parse(SITES).server();
        assertThat(d.watchConfig()).isFalse();
        assertThat(d.reloadGrace()).isEqualTo(Duration.ofSeconds(30));
        assertThat(d.logFormat()).isEqualTo(ServerSettings.LogFormat.TEXT);

        ServerSettings s = parse("""
                server:
                  watch_config: true
                  reload_grace: 1m30s
                  log_format: JSON
                """ + SITES).server();
        assertThat(s.watchConfig()).isTrue();
        assertThat(s.reloadGrace()).isEqualTo(Duration.ofSeconds(90));
        assertThat(s.logFormat()).isEqualTo(ServerSettings.LogFormat.JSON);
    }

    @Test
    void reloadAndLogSettingsAreChecked() {
        assertThat(problems("""
                server:
                  watch_config: yes please
                  reload_grace: 30
                  log_format: jsn
                """ + SITES)).containsExactly(
                "t.yaml:2:17: server.watch_config: expected true or false, got the string 'yes please'",
                "t.yaml:3:17: server.reload_grace: a duration needs a unit, e.g. 30s or 30ms",
                "t.yaml:4:15: server.log_format: unknown value 'jsn'; did you mean 'json'? expected one of: text, json");
    }

    @Test
    void adminIsOffUnlessConfigured() throws Exception {
        assertThat(parse(SITES).admin().enabled()).isFalse();
        assertThat(parse(SITES + "admin: off\n").admin().enabled()).isFalse();
        assertThat(parse(SITES + "admin: false\n").admin().enabled()).isFalse();
    }

    @Test
    void adminDefaultsToLoopbackPort9090() throws Exception {
        for (String form : List.of("admin: true", "admin: on", "admin:", "admin: {}")) {
            AdminConfig a = parse(SITES + form + "\n").admin();
            assertThat(a.enabled()).as(form).isTrue();
            assertThat(a.address()).as(form).isEqualTo("127.0.0.1:9090");
            assertThat(a.token()).as(form).isEmpty();
        }
        AdminConfig a = parse(SITES + "admin: \"[::1]:9191\"\n").admin();
        assertThat(a.host()).isEqualTo("::1");
        assertThat(a.port()).isEqualTo(9191);
    }

    @Test
    void adminOffLoopbackNeedsAToken() throws Exception {
        assertThat(problems(SITES + "admin: \":9090\"\n")).containsExactly(
                "t.yaml:5:8: admin: the admin API on 0.0.0.0:9090 can be reached from other machines, so it needs a"
                        + " token: add 'token' (e.g. token: \"${TURNPIKE_ADMIN_TOKEN}\"), or listen on this machine"
                        + " only, e.g. 127.0.0.1:9090");
        assertThat(problems(SITES + "admin: { address: \"10.1.2.3:9090\" }\n")).singleElement().asString()
                .startsWith("t.yaml:5:19: admin.address: the admin API on 10.1.2.3:9090 can be reached");

        AdminConfig a = parse(SITES + """
                admin:
                  address: "0.0.0.0:9090"
                  token: "${ADMIN_TOKEN}"
                """).admin();
        assertThat(a.host()).isEqualTo("0.0.0.0");
        assertThat(a.token()).contains(TOKEN);
        assertThat(a.toString()).doesNotContain(TOKEN).contains("<redacted>");
    }

    @Test
    void adminTokensAreCheckedWithoutBeingRepeated() {
        assertThat(problems(SITES + "admin: { token: short-secret }\n")).containsExactly(
                "t.yaml:5:17: admin.token: a token must be at least 16 characters long, got 12; generate one with:"
                        + " openssl rand -hex 32");
        assertThat(problems(SITES + "admin: { token: \"with a space 0123456789\" }\n")).singleElement().asString()
                .contains("use only visible ASCII characters, without spaces").doesNotContain("with a space");
        assertThat(problems(SITES + "admin: { adress: \"127.0.0.1:9\" }\n")).singleElement().asString()
                .contains("admin.adress: unknown key; did you mean 'address'?");
    }

    @Test
    void adminNeedsAnAddressOfItsOwn() {
        assertThat(problems(SITES + "admin: \"127.0.0.1:8080\"\n")).containsExactly(
                "t.yaml:5:8: admin: the admin API needs an address of its own; 127.0.0.1:8080 is already the"
                        + " listener at t.yaml:1:9");
    }

    @Test
    void adminTokenIsRedactedInTheTree() throws Exception {
        TurnpikeConfig c = parse(SITES + "admin: { token: \"${ADMIN_TOKEN}\" }\n");
        assertThat(ConfigTree.of(c).get("admin")).isEqualTo(Map.of("enabled", true, "host", "127.0.0.1",
                "port", 9090L, "token", ConfigTree.REDACTED));
        assertThat(((Map<?, ?>) ConfigTree.of(c, false).get("admin")).get("token")).isEqualTo(TOKEN);
        assertThat(admin(parse(SITES))).containsEntry("enabled", false)
                .containsEntry("token", null);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> admin(TurnpikeConfig c) {
        return (Map<String, Object>) ConfigTree.of(c).get("admin");
    }
}
