package dev.flotilla.cli;

import java.util.Map;
import java.util.Objects;
import java.util.Properties;

/**
 * The JVM-wide settings a flotilla process makes for itself, first thing, before any library reads them; a value the
 * user gives ({@code -D} on the command line, {@code JAVA_TOOL_OPTIONS}) always wins.
 *
 * <p>{@value #NETTY_JFR}{@code =false}: Netty 4.2 (under Vert.x 5, fabric8's HTTP client here) otherwise registers
 * its buffer-allocation events with the Flight Recorder on the first request, which starts JFR's metadata repository
 * in a process that records nothing: 146 classes (114 of them JFR's) and 75 ms on the benchmark contender's way to
 * its first answer (its class-loading log, 2026-12-07), 3% of its start-up. It acts only before Netty first loads.
 * Netty's events are about its own buffer pools, which Flotilla does not tune; to record them, set
 * {@code -Dio.netty.jfr.enabled=true}.
 *
 * <pre>{@code
 * ProcessDefaults.apply(); // first in main, before anything touches Netty (Program.execute does it)
 * String nettyJfr = System.getProperty(ProcessDefaults.NETTY_JFR); // "false", unless the user set it
 * }</pre>
 */
public final class ProcessDefaults {

    /** Netty's switch for its Flight Recorder events, read once when Netty's {@code PlatformDependent} loads. */
    public static final String NETTY_JFR = "io.netty.jfr.enabled";

    /** Every default, property to value. */
    public static final Map<String, String> DEFAULTS = Map.of(NETTY_JFR, "false");

    private ProcessDefaults() {
    }

    /** Sets every {@link #DEFAULTS default} the process's system properties do not set already. */
    public static void apply() {
        apply(System.getProperties());
    }

    /** Sets in {@code properties} every {@link #DEFAULTS default} they do not set already (for tests). */
    static void apply(Properties properties) {
        Objects.requireNonNull(properties, "properties");
        DEFAULTS.forEach(properties::putIfAbsent);
    }
}
