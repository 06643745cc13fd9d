package dev.flotilla.bench.e2e;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The three ways the same workload is reconciled. */
enum Contender {
    FLOTILLA("Flotilla"),
    JOSDK("Java Operator SDK"),
    CEILING("ceiling (plain fabric8)");

    private final String title;

    Contender(String title) {
        this.title = title;
    }

    String title() {
        return title;
    }

    /** The command that starts this contender's JVM; every contender gets the same JVM flags. */
    List<String> command(List<String> jvmFlags, Path josdkJar, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmFlags);
        switch (this) {
            case FLOTILLA -> cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), FlotillaContender.class.getName()));
            case CEILING -> cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), CeilingContender.class.getName()));
            case JOSDK -> cmd.addAll(List.of("-jar", josdkJar.toString()));
        }
        cmd.addAll(args);
        return cmd;
    }
}
