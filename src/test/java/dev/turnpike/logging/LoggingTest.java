package dev.turnpike.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.status.Status;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

import java.io.IOException;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** logback.xml and its helpers: the format switch, one-line exceptions, JSON lines, Netty at WARN, levels. */
class LoggingTest {

    @Test
    void formatComesFromTurnpikeLogFormat() {
        assertThat(ServerLog.Format.parse(null)).isEqualTo(ServerLog.Format.TEXT);
        assertThat(ServerLog.Format.parse("")).isEqualTo(ServerLog.Format.TEXT);
        assertThat(ServerLog.Format.parse("text")).isEqualTo(ServerLog.Format.TEXT);
        assertThat(ServerLog.Format.parse(" JSON ")).isEqualTo(ServerLog.Format.JSON);
        assertThat(ServerLog.Format.parse("xml")).isEqualTo(ServerLog.Format.TEXT);
    }

    @Test
    void exceptionsStayOnTheEventsLine() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger logger = context.getLogger("dev.turnpike.test");
        LogCauses causes = new LogCauses();

        LoggingEvent warn = new LoggingEvent("x", logger, Level.WARN, "upstream failed",
                new IOException("outer", new ConnectException("Connection refused\nreally")), null);
        assertThat(causes.convert(warn))
                .isEqualTo(" (IOException: outer; caused by ConnectException: Connection refused / really)");

        LoggingEvent error = new LoggingEvent("x", logger, Level.ERROR, "bug", new IllegalStateException(), null);
        assertThat(causes.convert(error)).startsWith(" (IllegalStateException at ").doesNotContain("\n");

        LoggingEvent plain = new LoggingEvent("x", logger, Level.INFO, "fine", null, null);
        assertThat(causes.convert(plain)).isEmpty();
    }

    @Test
    void configurationLoadsWithoutErrorsAndQuietsNetty() throws Exception {
        LoggerContext context = configured();
        assertThat(context.getStatusManager().getCopyOfStatusList())
                .noneMatch(s -> s.getEffectiveLevel() >= Status.ERROR);
        assertThat(context.getLogger("io.netty.channel").getEffectiveLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("dev.turnpike").getEffectiveLevel()).isEqualTo(Level.INFO);
        assertThat(encoder(context)).isNotNull();
        context.stop();
    }

    @Test
    void textIsOneLinePerEventWithTheCauses() throws Exception {
        LoggerContext context = configured();
        ServerLogEncoder encoder = encoder(context);
        encoder.setFormat(ServerLog.Format.TEXT);
        LoggingEvent e = new LoggingEvent("x", context.getLogger("dev.turnpike.server.TurnpikeServer"), Level.WARN,
                "reload refused:\nbad", new IOException("disk"), null);
        String line = new String(encoder.encode(e), StandardCharsets.UTF_8);
        assertThat(line).matches("\\S+ WARN  TurnpikeServer: reload refused: / bad \\(IOException: disk\\)\\R");
        context.stop();
    }

    @Test
    void jsonIsOneFlatObjectPerEventWithItsKeyValues() throws Exception {
        LoggerContext context = configured();
        ServerLogEncoder encoder = encoder(context);
        encoder.setFormat(ServerLog.Format.JSON);
        LoggingEvent e = new LoggingEvent("x", context.getLogger("dev.turnpike.server.TurnpikeServer"), Level.INFO,
                "listener {} up", null, new Object[] {"public"});
        e.addKeyValuePair(new KeyValuePair("event", "listener_up"));
        e.addKeyValuePair(new KeyValuePair("port", 8080));
        e.addKeyValuePair(new KeyValuePair("message", "not a second message field"));
        String line = new String(encoder.encode(e), StandardCharsets.UTF_8);
        assertThat(line).endsWith("}\n").doesNotContain("\n{").hasLineCount(1);
        assertThat(line).matches("\\{\"time\":\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\",\"level\":\"INFO\","
                + "\"logger\":\"dev.turnpike.server.TurnpikeServer\",\"thread\":\"[^\"]*\",\"message\":\"listener public up\","
                + "\"event\":\"listener_up\",\"port\":8080}\\n");

        LoggingEvent failed = new LoggingEvent("x", context.getLogger("x"), Level.ERROR, "boom",
                new IllegalStateException("bad\nthing"), null);
        String error = new String(encoder.encode(failed), StandardCharsets.UTF_8);
        assertThat(error).hasLineCount(1)
                .contains("\"error\":\"IllegalStateException: bad / thing at ")
                .contains("\"stack\":\"java.lang.IllegalStateException: bad\\nthing\\n\\tat ");
        context.stop();
    }

    @Test
    void theEnvironmentVariableWinsOverTheConfiguration() {
        ServerLog.Format before = ServerLog.format().orElseThrow();
        try {
            assertThat(ServerLog.useFormat(ServerLog.Format.JSON, Map.of())).contains(ServerLog.Format.JSON);
            assertThat(ServerLog.format()).contains(ServerLog.Format.JSON);
            assertThat(ServerLog.useFormat(ServerLog.Format.JSON, Map.of(ServerLog.FORMAT_VARIABLE, "text")))
                    .contains(ServerLog.Format.TEXT);
        } finally {
            ServerLog.useFormat(before, Map.of());
        }
    }

    @Test
    void levelsChangeAtRuntimeAndCanInheritAgain() {
        String name = "dev.turnpike.logging.test";
        assertThat(ServerLog.level(name).orElseThrow().level()).isNull();
        assertThat(ServerLog.setLevel(name, "debug").orElseThrow())
                .isEqualTo(new ServerLog.LoggerLevel(name, "DEBUG", "DEBUG"));
        assertThat(LoggerFactory.getLogger(name).isDebugEnabled()).isTrue();
        ServerLog.LoggerLevel inherited = ServerLog.setLevel(name, null).orElseThrow();
        assertThat(inherited.level()).isNull();
        assertThat(inherited.effective()).isEqualTo(ServerLog.level("ROOT").orElseThrow().effective());
        assertThatThrownBy(() -> ServerLog.setLevel(name, "LOUD")).hasMessageContaining("unknown level 'LOUD'");
        assertThatThrownBy(() -> ServerLog.setLevel("ROOT", null)).hasMessageContaining("root logger");
        assertThat(List.of(ServerLog.LEVELS)).isNotEmpty();
    }

    private static LoggerContext configured() throws Exception {
        LoggerContext context = new LoggerContext();
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        configurator.doConfigure(LoggingTest.class.getResource("/logback.xml"));
        return context;
    }

    private static ServerLogEncoder encoder(LoggerContext context) {
        OutputStreamAppender<?> a = (OutputStreamAppender<?>) context.getLogger(Logger.ROOT_LOGGER_NAME)
                .getAppender("SERVER");
        return (ServerLogEncoder) a.getEncoder();
    }
}
