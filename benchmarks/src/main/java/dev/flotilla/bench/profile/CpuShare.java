package dev.flotilla.bench.profile;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where a contender's CPU samples went, by library: every {@code jdk.ExecutionSample} of a JFR recording is charged to
 * the layer of its topmost frame outside the JDK, so that a {@code HashMap.get} called by the guard counts as the
 * guard's. The layers Flotilla adds to a plain fabric8 client are its own code, Resilience4j and Micrometer; their sum is
 * "Flotilla's own" share in {@code benchmarks/results/profile-*.md}.
 *
 * <pre>{@code
 * CpuShare.Profile p = CpuShare.read(Path.of("/tmp/jfr/flotilla.jfr"));
 * double own = p.share(CpuShare.Layer.FLOTILLA) + p.share(CpuShare.Layer.RESILIENCE4J) + p.share(CpuShare.Layer.MICROMETER);
 * }</pre>
 */
public final class CpuShare {

    private CpuShare() {
    }

    /** The libraries a sample can be charged to, matched by package prefix in this order (the harness before Flotilla). */
    public enum Layer {
        BENCHMARK_HARNESS("the benchmark's contender code (JOSDK's and the ceiling's mirror rules among it)", "dev.flotilla.bench."),
        MIRROR_CONTROLLER("Flotilla's configmap-mirror controller", "dev.flotilla.examples."),
        FLOTILLA("Flotilla", "dev.flotilla."),
        JOSDK("Java Operator SDK", "io.javaoperatorsdk."),
        RESILIENCE4J("Resilience4j", "io.github.resilience4j."),
        MICROMETER("Micrometer", "io.micrometer."),
        FABRIC8("fabric8", "io.fabric8."),
        JACKSON("Jackson", "com.fasterxml.jackson.", "tools.jackson."),
        HTTP("Vert.x and Netty", "io.vertx.", "io.netty."),
        LOGGING("logging", "org.slf4j.", "ch.qos.logback.", "org.apache.logging."),
        OTHER_LIBRARY("other libraries"),
        JDK_ONLY("the JDK alone (no library frame on the stack)");

        private final String title;
        private final List<String> prefixes;

        Layer(String title, String... prefixes) {
            this.title = title;
            this.prefixes = List.of(prefixes);
        }

        public String title() {
            return title;
        }

        static Layer of(String className) {
            for (Layer l : values()) {
                for (String p : l.prefixes) {
                    if (className.startsWith(p)) {
                        return l;
                    }
                }
            }
            return OTHER_LIBRARY;
        }
    }

    /** Sample counts per layer of one or more recordings of one contender. */
    public record Profile(Map<Layer, Long> samples) {

        public Profile {
            samples = Map.copyOf(samples);
        }

        public long total() {
            return samples.values().stream().mapToLong(Long::longValue).sum();
        }

        public double share(Layer l) {
            long t = total();
            return t == 0 ? 0 : (double) samples.getOrDefault(l, 0L) / t;
        }
    }

    static boolean isJdk(String className) {
        return className.startsWith("java.") || className.startsWith("javax.") || className.startsWith("jdk.")
                || className.startsWith("sun.") || className.startsWith("com.sun.");
    }

    /** The layer a stack (top frame first) is charged to. */
    static Layer charge(List<String> classesTopFirst) {
        for (String c : classesTopFirst) {
            if (!isJdk(c)) {
                return Layer.of(c);
            }
        }
        return Layer.JDK_ONLY;
    }

    public static Profile read(Path... recordings) throws IOException {
        Map<Layer, Long> counts = new EnumMap<>(Layer.class);
        for (Path recording : recordings) {
            for (RecordedEvent e : RecordingFile.readAllEvents(recording)) {
                if (!e.getEventType().getName().equals("jdk.ExecutionSample") || e.getStackTrace() == null) {
                    continue;
                }
                List<String> classes = new ArrayList<>();
                for (RecordedFrame f : e.getStackTrace().getFrames()) {
                    if (f.isJavaFrame()) {
                        classes.add(f.getMethod().getType().getName());
                    }
                }
                counts.merge(charge(classes), 1L, Long::sum);
            }
        }
        return new Profile(counts);
    }

    /**
     * Prints a Markdown table of the shares: {@code CpuShare NAME=FILE.jfr[,FILE.jfr...] ...}, one column per contender.
     */
    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            System.err.println("usage: CpuShare NAME=FILE.jfr[,FILE.jfr...] ...");
            System.exit(2);
        }
        List<String> names = new ArrayList<>();
        List<Profile> profiles = new ArrayList<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected NAME=FILE.jfr[,FILE.jfr...], got '" + a + "'");
            }
            names.add(a.substring(0, eq));
            profiles.add(read(java.util.Arrays.stream(a.substring(eq + 1).split(",")).map(Path::of).toArray(Path[]::new)));
        }
        StringBuilder b = new StringBuilder("| layer |");
        names.forEach(n -> b.append(' ').append(n).append(" |"));
        b.append("\n|---|").append("---|".repeat(names.size())).append('\n');
        for (Layer l : Layer.values()) {
            if (profiles.stream().allMatch(p -> p.samples().getOrDefault(l, 0L) == 0)) {
                continue;
            }
            b.append("| ").append(l.title()).append(" |");
            profiles.forEach(p -> b.append(String.format(Locale.ROOT, " %.1f%% |", p.share(l) * 100)));
            b.append('\n');
        }
        b.append("| *samples* |");
        profiles.forEach(p -> b.append(' ').append(p.total()).append(" |"));
        b.append('\n');
        System.out.print(b);
    }
}
