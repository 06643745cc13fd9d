package dev.flotilla.bench.e2e;

import dev.flotilla.bench.plain.PlainCeiling;
import dev.flotilla.bench.protocol.ContenderArgs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The ways the same workload is reconciled. */
enum Contender {
    FLOTILLA("Flotilla"),
    /** Flotilla recording the Events {@code flotilla run} records (one per mirror created or updated): a separate row. */
    FLOTILLA_EVENTS("Flotilla with Events (as flotilla run)"),
    /**
     * Flotilla started from an AOT cache (JEP 483) trained on this contender by the benchmark before it measures, as the
     * build trains the {@code flotilla} launcher's and the image's: Flotilla only, since the other contenders ship none.
     */
    FLOTILLA_AOT("Flotilla from its AOT cache (Flotilla only)"),
    /**
     * Flotilla on fabric8's Vert.x 5 client, {@code flotilla run}'s until it moved to the JDK's HTTP/2 client: what the
     * choice of client is worth, side by side.
     */
    FLOTILLA_VERTX("Flotilla on Vert.x 5 (not flotilla run's)"),
    JOSDK("Java Operator SDK"),
    /** The Java Operator SDK with an item store that drops managedFields, as Flotilla's caches do by default. */
    JOSDK_STRIPPED("Java Operator SDK, managedFields dropped"),
    CEILING("ceiling (plain fabric8, JDK HTTP/2 client)"),
    /** The same ceiling on the controllers' HTTP library, Vert.x 5: what the ceiling's choice of client is worth. */
    CEILING_VERTX("ceiling on Vert.x 5"),
    /** The same ceiling code on fabric8 7.5.2, the Java Operator SDK's version: what the fabric8 version alone costs. */
    CEILING7("ceiling on fabric8 7.5.2");

    /**
     * Given to the rows on Vert.x 5: Netty 4.2 otherwise starts the Flight Recorder's metadata repository on its first
     * request, about 150 classes and 75 ms before a first answer (results/e2e-netty-jfr.md), which a process without
     * Netty never pays.
     */
    static final String NETTY_JFR_OFF = "-Dio.netty.jfr.enabled=false";

    private final String title;

    Contender(String title) {
        this.title = title;
    }

    String title() {
        return title;
    }

    /**
     * Whether this is one of the three the verdicts compare (Flotilla, JOSDK, the ceiling), run at every size; the others
     * are side rows (a fairness or Flotilla-only variant), run at {@code --side-sizes}.
     */
    boolean compared() {
        return this == FLOTILLA || this == JOSDK || this == CEILING;
    }

    /**
     * The command that starts this contender's JVM; every contender gets the same JVM flags, and {@link #FLOTILLA_AOT}
     * adds its cache's flags and classpath (required for it, ignored by the others).
     */
    List<String> command(List<String> jvmFlags, Path josdkJar, Optional<AotCache> aot, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmFlags);
        switch (this) {
            case FLOTILLA, FLOTILLA_EVENTS -> cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
                    FlotillaContender.class.getName()));
            case FLOTILLA_VERTX -> cmd.addAll(List.of(NETTY_JFR_OFF, "-cp", System.getProperty("java.class.path"),
                    FlotillaContender.class.getName()));
            case FLOTILLA_AOT -> {
                AotCache cache = aot.orElseThrow(() -> new IllegalStateException(this + " needs its AOT cache trained first"));
                cmd.addAll(cache.flags());
                cmd.addAll(List.of("-cp", cache.classpath(), FlotillaContender.class.getName()));
            }
            case CEILING -> cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), PlainCeiling.class.getName()));
            case CEILING_VERTX -> cmd.addAll(List.of(NETTY_JFR_OFF, "-cp", System.getProperty("java.class.path"),
                    PlainCeiling.class.getName()));
            case JOSDK, JOSDK_STRIPPED -> cmd.addAll(List.of("-jar", josdkJar.toString()));
            case CEILING7 -> cmd.addAll(List.of("-cp", josdkJar.toString(), PlainCeiling.class.getName()));
        }
        cmd.addAll(args);
        switch (this) {
            case FLOTILLA_EVENTS -> cmd.add(ContenderArgs.EVENTS + "=true");
            case JOSDK_STRIPPED -> cmd.add(ContenderArgs.STRIP_MANAGED_FIELDS + "=true");
            case CEILING_VERTX -> cmd.add(ContenderArgs.HTTP_CLIENT + "=vertx");
            case FLOTILLA_VERTX -> cmd.add(ContenderArgs.HTTP_CLIENT + "=vertx");
            default -> {
            }
        }
        return cmd;
    }
}
