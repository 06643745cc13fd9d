package dev.flotilla.bench.e2e;

import dev.flotilla.bench.plain.PlainCeiling;
import dev.flotilla.bench.protocol.ContenderArgs;
import dev.flotilla.cli.ProcessDefaults;
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
     * Flotilla on fabric8's JDK HTTP client (HTTP/2, the ceiling's) instead of {@code flotilla run}'s Vert.x 5: what the
     * choice of client is worth. Not the product's: with fabric8 8.0.0 it relists after every cut watch.
     */
    FLOTILLA_JDK("Flotilla on the JDK HTTP/2 client (not flotilla run's)"),
    /**
     * Flotilla with Netty's Flight Recorder events left on ({@code -Dio.netty.jfr.enabled=true}), as before
     * {@code ProcessDefaults} turned them off: what that default is worth, side by side.
     */
    FLOTILLA_NETTY_JFR("Flotilla with Netty's JFR events on (before ProcessDefaults)"),
    JOSDK("Java Operator SDK"),
    /** The Java Operator SDK with an item store that drops managedFields, as Flotilla's caches do by default. */
    JOSDK_STRIPPED("Java Operator SDK, managedFields dropped"),
    CEILING("ceiling (plain fabric8, JDK HTTP/2 client)"),
    /** The same ceiling on the controllers' HTTP library, Vert.x 5: what the ceiling's choice of client is worth. */
    CEILING_VERTX("ceiling on Vert.x 5"),
    /** The same ceiling code on fabric8 7.5.2, the Java Operator SDK's version: what the fabric8 version alone costs. */
    CEILING7("ceiling on fabric8 7.5.2");

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
            case FLOTILLA, FLOTILLA_EVENTS, FLOTILLA_JDK -> cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
                    FlotillaContender.class.getName()));
            case FLOTILLA_NETTY_JFR -> cmd.addAll(List.of("-D" + ProcessDefaults.NETTY_JFR + "=true", "-cp",
                    System.getProperty("java.class.path"), FlotillaContender.class.getName()));
            case FLOTILLA_AOT -> {
                AotCache cache = aot.orElseThrow(() -> new IllegalStateException(this + " needs its AOT cache trained first"));
                cmd.addAll(cache.flags());
                cmd.addAll(List.of("-cp", cache.classpath(), FlotillaContender.class.getName()));
            }
            case CEILING -> cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), PlainCeiling.class.getName()));
            // On Vert.x 5, hence Netty 4.2: its JFR events off, as Flotilla runs (ProcessDefaults), for a like-for-like row.
            case CEILING_VERTX -> cmd.addAll(List.of("-D" + ProcessDefaults.NETTY_JFR + "=false", "-cp",
                    System.getProperty("java.class.path"), PlainCeiling.class.getName()));
            case JOSDK, JOSDK_STRIPPED -> cmd.addAll(List.of("-jar", josdkJar.toString()));
            case CEILING7 -> cmd.addAll(List.of("-cp", josdkJar.toString(), PlainCeiling.class.getName()));
        }
        cmd.addAll(args);
        switch (this) {
            case FLOTILLA_EVENTS -> cmd.add(ContenderArgs.EVENTS + "=true");
            case JOSDK_STRIPPED -> cmd.add(ContenderArgs.STRIP_MANAGED_FIELDS + "=true");
            case CEILING_VERTX -> cmd.add(ContenderArgs.HTTP_CLIENT + "=vertx");
            case FLOTILLA_JDK -> cmd.add(ContenderArgs.HTTP_CLIENT + "=jdk");
            default -> {
            }
        }
        return cmd;
    }
}
