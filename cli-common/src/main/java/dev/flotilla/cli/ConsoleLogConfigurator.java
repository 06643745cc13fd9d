package dev.flotilla.cli;

import ch.qos.logback.classic.ClassicConstants;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.pattern.DynamicConverter;
import ch.qos.logback.core.spi.ContextAwareBase;
import ch.qos.logback.core.status.NopStatusListener;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;

/**
 * Flotilla's console logging, set up in code when logback starts (found through {@code META-INF/services}): one line
 * per event on stderr (stdout carries command output such as the demo's summary or its JSON), key=value pairs from
 * SLF4J's fluent API ({@code addKeyValue}) printed by {@code %kvp}, an exception kept on its event's line unless the
 * root logger is at DEBUG ({@link OneLineThrowableConverter}), a third party's repeating warning collapsed
 * ({@link RepeatedLinesFilter}), and the chatty third parties held at WARN. Why in code and not a {@code logback.xml}:
 * parsing one at start-up loaded 514 logback and 115 XML parser classes and took 0.35 s of the 2.5 s before a
 * {@code flotilla run} replica's caches were ready (the benchmark contender's class-loading log, 2026-12-06).
 *
 * <p>A configuration of the user's own still wins: with {@code -Dlogback.configurationFile} (or {@code -Dlogback.scmoFile}), or a {@code logback.xml}
 * or {@code logback-test.xml} on the class path, this configurator steps aside and logback reads that file as usual.
 *
 * <pre>{@code
 * org.slf4j.LoggerFactory.getLogger("dev.flotilla.example").atInfo().addKeyValue("shard", 3).log("shard acquired");
 * // 2026-12-06T16:05:00.123Z INFO  [main] dev.flotilla.example - shard acquired shard="3"
 * }</pre>
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_NORMAL_PRIORITY)
public final class ConsoleLogConfigurator extends ContextAwareBase implements Configurator {

    /** The conversion word of {@link OneLineThrowableConverter} in {@link #PATTERN}. */
    public static final String ONE_LINE_EXCEPTION = "exOneLine";
    /**
     * The console line: time with offset, level, thread, logger, the message with its line breaks folded, key=value
     * pairs, then the exception ({@link #ONE_LINE_EXCEPTION}).
     */
    public static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{36} - "
            + "%replace(%msg){'[\\r\\n]+', ' '} %kvp%" + ONE_LINE_EXCEPTION + "%n";
    /**
     * Loggers held above INFO: third parties chatter at INFO and DEBUG, their warnings still show. fabric8's
     * {@code Reflector} is at ERROR because its list and watch failures are the informers' exception handler's to
     * report, once per streak ({@code RepeatingFailures}), not a line per retry with the exception text twice.
     */
    public static final Map<String, Level> QUIETED = quieted();

    private static Map<String, Level> quieted() {
        Map<String, Level> levels = new LinkedHashMap<>();
        levels.put("io.vertx", Level.WARN);
        levels.put("io.netty", Level.WARN);
        levels.put("io.fabric8.mockwebserver", Level.WARN);
        levels.put("io.fabric8.kubernetes.client.informers.impl.cache.Reflector", Level.ERROR);
        return Collections.unmodifiableMap(levels);
    }

    /** Class-path resources that, when present, are the user's configuration: logback reads them instead. */
    static final String[] USER_CONFIGURATION = {ClassicConstants.TEST_AUTOCONFIG_FILE, ClassicConstants.AUTOCONFIG_FILE};

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (userConfigured()) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        context.getStatusManager().add(new NopStatusListener()); // logback's own status lines stay off the console
        Map<String, Supplier<DynamicConverter<?>>> rules = new HashMap<>();
        rules.put(ONE_LINE_EXCEPTION, OneLineThrowableConverter::new);
        context.putObject(CoreConstants.PATTERN_RULE_REGISTRY_FOR_SUPPLIERS, rules);

        RepeatedLinesFilter repeated = new RepeatedLinesFilter();
        repeated.setContext(context);
        repeated.start();
        context.addTurboFilter(repeated);

        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setName(Logging.CONSOLE_APPENDER);
        console.setTarget("System.err");
        console.setEncoder(encoder);
        console.start();

        QUIETED.forEach((name, level) -> context.getLogger(name).setLevel(level));
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.INFO);
        root.addAppender(console);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** Whether the user points logback at a file of their own, by system property or on the class path. */
    private static boolean userConfigured() {
        return userConfigured(ConsoleLogConfigurator.class.getClassLoader(), System::getProperty);
    }

    static boolean userConfigured(ClassLoader loader, UnaryOperator<String> systemProperty) {
        if (systemProperty.apply(ClassicConstants.CONFIG_FILE_PROPERTY) != null
                || systemProperty.apply(ClassicConstants.MODEL_CONFIG_FILE_PROPERTY) != null) {
            return true;
        }
        for (String resource : USER_CONFIGURATION) {
            if (loader.getResource(resource) != null) {
                return true;
            }
        }
        return false;
    }
}
