package dev.turnpike.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.status.Status;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.ConnectException;

import static org.assertj.core.api.Assertions.assertThat;

/** logback.xml and its helpers: the format switch, one-line exceptions, Netty at WARN. */
class LoggingTest {

    @Test
    void formatComesFromTurnpikeLogFormat() {
        assertThat(LogFormat.appenderFor(null)).isEqualTo("TEXT");
        assertThat(LogFormat.appenderFor("")).isEqualTo("TEXT");
        assertThat(LogFormat.appenderFor("text")).isEqualTo("TEXT");
        assertThat(LogFormat.appenderFor(" JSON ")).isEqualTo("JSON");
        assertThat(LogFormat.appenderFor("xml")).isEqualTo("TEXT");
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
        LoggerContext context = new LoggerContext();
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        configurator.doConfigure(LoggingTest.class.getResource("/logback.xml"));

        assertThat(context.getStatusManager().getCopyOfStatusList())
                .noneMatch(s -> s.getEffectiveLevel() >= Status.ERROR);
        assertThat(context.getLogger("io.netty.channel").getEffectiveLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("dev.turnpike").getEffectiveLevel()).isEqualTo(Level.INFO);
        String appender = LogFormat.appenderFor(System.getenv(LogFormat.VARIABLE));
        assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender(appender)).isNotNull();
        context.stop();
    }
}
