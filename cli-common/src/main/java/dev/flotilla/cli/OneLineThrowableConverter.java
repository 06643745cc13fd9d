package dev.flotilla.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.pattern.ThrowableProxyConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import org.slf4j.Logger;

/**
 * Keeps log events to one line: an attached exception is rendered as {@code error="Class: message"}
 * (with its causes) on the same line. Only when the root logger is at DEBUG ({@code --debug}) is
 * the full stack trace printed, on the following lines. Registered by {@link ConsoleLogConfigurator} as
 * {@code %exOneLine}.
 */
public final class OneLineThrowableConverter extends ThrowableProxyConverter {

    @Override
    public String convert(ILoggingEvent event) {
        IThrowableProxy t = event.getThrowableProxy();
        if (t == null) {
            return "";
        }
        if (getContext() instanceof LoggerContext context && context.getLogger(Logger.ROOT_LOGGER_NAME).getLevel().isGreaterOrEqual(Level.INFO)) {
            return " error=\"" + summary(t).replace("\"", "'") + "\"";
        }
        return System.lineSeparator() + super.convert(event);
    }

    static String summary(IThrowableProxy t) {
        StringBuilder b = new StringBuilder();
        int depth = 0;
        for (IThrowableProxy x = t; x != null && depth < 5; x = x.getCause(), depth++) {
            if (depth > 0) {
                b.append(" <- ");
            }
            String name = x.getClassName();
            b.append(name.substring(name.lastIndexOf('.') + 1));
            if (x.getMessage() != null) {
                b.append(": ").append(x.getMessage().strip().replaceAll("\\s*[\\r\\n]+\\s*", " "));
            }
        }
        return b.toString();
    }
}
