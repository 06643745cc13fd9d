package dev.flotilla.bench.e2e;

import dev.flotilla.sharding.ShardingConfig;
import java.time.Duration;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The end-to-end benchmark's settings, from {@code --key value} arguments; every default is here.
 *
 * @param sizes        numbers of source objects, ascending (the sources of one size are reused by the next)
 * @param namespaces   namespaces the sources are spread over
 * @param rounds       rounds per size; the contenders' order rotates every round
 * @param workers      reconcile workers (Flotilla, JOSDK) and writer threads (ceiling)
 * @param rate         source updates per second in the steady stream
 * @param updates      updates in the stream (rate x seconds)
 * @param warmUpdates  updates each contender takes, unrecorded and at the same rate, before its measured stream: the
 *                     first pass writes only new mirrors, so a contender's update path is still being compiled when
 *                     its stream begins, and the stream's latencies were the JIT compiler's (0: the stream starts cold)
 * @param shardedSizes the sizes at which Flotilla also runs sharded; empty for none ("0" on the command line)
 * @param replicas     replica counts of the sharded runs
 * @param contenders   who runs (Flotilla, JOSDK and the ceiling by default; ceiling7 adds the ceiling on fabric8 7.5.2);
 *                     empty ("none") runs only the sharded groups
 * @param jvmFlags     flags of every contender JVM (space-separated on the command line)
 * @param shardedJvmFlags flags of every sharded replica's JVM: no collector is forced, so that the JVM started under
 *                     its CPU cap picks one as in a Pod with that limit (Serial at one CPU; the shipped Deployment's
 *                     JVM gets Serial too, from its 512 Mi memory limit); G1 forced at 0.1 core shrank its young
 *                     generation to 6 MiB and paused 22.7 s in 263 young collections in 11 minutes
 * @param shardedTimings the sharded replicas' lease duration, renew deadline and retry period in seconds (Flotilla's
 *                     defaults, 15,10,2, unless a quick run such as EndToEndHarnessTest shortens them)
 * @param replicaCpu   the CPU cap of each sharded replica (a cgroup's CFS quota); uncapped with 0
 * @param attempts     attempts of a contender's run while outsiders take the CPU (the last one counts regardless)
 * @param sideSizes    the sizes at which the side rows ({@link Contender#compared()} false) run among the contenders;
 *                     every size by default would put the full run well over an hour on 2 cores
 * @param shardedWarmUpRounds unrecorded mass deletions per replica that each sharded group recovers from, with
 *                     the CPU cap lifted, before its measured rounds: under a cap the JIT compiler takes minutes
 *                     and half the quota (measured with JFR)
 */
record Settings(List<Integer> sizes, int namespaces, int rounds, int workers, int rate, int updates, int warmUpdates,
        List<Integer> shardedSizes,
        List<Integer> replicas, List<Contender> contenders, List<String> jvmFlags, Path josdkJar, Path out,
        List<Integer> shardedTimings, CpuCap replicaCpu, int attempts, int shardedWarmUpRounds,
        List<Integer> sideSizes, List<String> shardedJvmFlags) {

    /** Every option with its default, in the order the usage line lists them: the one place defaults live. */
    private static final Map<String, String> DEFAULTS = defaults();

    static final String USAGE = "usage: EndToEnd " + String.join(" ", DEFAULTS.entrySet().stream()
            .map(e -> "[--" + e.getKey() + " " + (e.getValue().contains(" ") ? '"' + e.getValue() + '"' : e.getValue()) + "]")
            .toList()) + "\n  --contenders also takes flotilla_aot (Flotilla from its AOT cache), flotilla_vertx (Flotilla on Vert.x 5), "
            + "ceiling_vertx (the ceiling on Vert.x 5), "
            + "ceiling7 (the ceiling on fabric8 7.5.2) and none (sharded groups only); "
            + "--sharded-sizes 0 runs no sharded groups; --replica-cpu 0.25 caps each sharded replica at a quarter core (cgroup v1 cpu)";

    private static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("sizes", "1000,5000,20000");
        d.put("namespaces", "50");
        d.put("rounds", "5");
        d.put("workers", "8");
        d.put("rate", "100");
        d.put("updates", "400");
        d.put("warmup-updates", "400");
        d.put("sharded-sizes", "5000");
        d.put("replicas", "1,2,3");
        d.put("contenders", "flotilla,flotilla_events,flotilla_aot,josdk,josdk_stripped,ceiling");
        d.put("jvm-flags", "-Xmx2g -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError");
        d.put("josdk-jar", "benchmarks-josdk/target/josdk-contender.jar");
        d.put("out", "benchmarks/results");
        d.put("sharded-timings", ShardingConfig.DEFAULT_LEASE_DURATION.toSeconds() + "," + ShardingConfig.DEFAULT_RENEW_DEADLINE.toSeconds()
                + "," + ShardingConfig.DEFAULT_RETRY_PERIOD.toSeconds());
        d.put("replica-cpu", "0.1");
        d.put("attempts", "3");
        d.put("sharded-warmup-rounds", "2");
        d.put("side-sizes", "5000");
        d.put("sharded-jvm-flags", "-Xmx2g -XX:+ExitOnOutOfMemoryError");
        return java.util.Collections.unmodifiableMap(d);
    }

    Settings {
        sizes = List.copyOf(sizes);
        replicas = List.copyOf(replicas);
        shardedSizes = List.copyOf(shardedSizes);
        contenders = List.copyOf(contenders);
        if (contenders.isEmpty() && shardedSizes.isEmpty()) {
            throw new IllegalArgumentException("--contenders none runs only sharded groups, but --sharded-sizes is 0");
        }
        jvmFlags = List.copyOf(jvmFlags);
        shardedJvmFlags = List.copyOf(shardedJvmFlags);
        shardedTimings = List.copyOf(shardedTimings);
        if (shardedTimings.size() != 3) {
            throw new IllegalArgumentException("--sharded-timings takes lease,renew-deadline,retry in seconds, got " + shardedTimings);
        }
        // The sharding library's own checks (renew deadline below the lease, the margins), with its message.
        ShardingConfig.defaults("settings", "settings").withTimings(Duration.ofSeconds(shardedTimings.get(0)),
                Duration.ofSeconds(shardedTimings.get(1)), Duration.ofSeconds(shardedTimings.get(2)));
        if (sizes.isEmpty() || sizes.stream().anyMatch(n -> n < 1)) {
            throw new IllegalArgumentException("--sizes must be positive numbers, got " + sizes);
        }
        for (int i = 1; i < sizes.size(); i++) {
            if (sizes.get(i) <= sizes.get(i - 1)) {
                throw new IllegalArgumentException("--sizes must be ascending (each size reuses the previous one's sources), got " + sizes);
            }
        }
        requireAtLeast("namespaces", namespaces, 1);
        requireAtLeast("rounds", rounds, 1);
        requireAtLeast("workers", workers, 1);
        requireAtLeast("rate", rate, 1);
        requireAtLeast("updates", updates, 1);
        requireAtLeast("warmup-updates", warmUpdates, 0);
        requireAtLeast("attempts", attempts, 1);
        requireAtLeast("sharded-warmup-rounds", shardedWarmUpRounds, 0);
        sideSizes = List.copyOf(sideSizes);
        if (!sizes.containsAll(sideSizes)) {
            throw new IllegalArgumentException("--side-sizes must be among --sizes " + sizes + " or 0, got " + sideSizes);
        }
        if (!sizes.containsAll(shardedSizes)) {
            throw new IllegalArgumentException("--sharded-sizes must be among --sizes " + sizes + " or 0, got " + shardedSizes);
        }
        if (replicaCpu.capped()) {
            CpuCap.unavailable().ifPresent(why -> {
                throw new IllegalArgumentException(why);
            });
        }
        if (replicas.stream().anyMatch(r -> r < 1 || r > 8)) {
            throw new IllegalArgumentException("--replicas must be between 1 and 8, got " + replicas);
        }
        if (!Files.isRegularFile(josdkJar)) {
            throw new IllegalArgumentException("no Java Operator SDK contender at " + josdkJar
                    + "; build it with ./mvnw -pl benchmarks-josdk -am package -DskipTests");
        }
    }

    private static void requireAtLeast(String what, int value, int min) {
        if (value < min) {
            throw new IllegalArgumentException("--" + what + " must be at least " + min + ", got " + value);
        }
    }

    static Settings parse(String[] argv) {
        Map<String, String> values = new TreeMap<>(DEFAULTS);
        for (int i = 0; i < argv.length; i++) {
            if (!argv[i].startsWith("--") || i + 1 >= argv.length) {
                throw new IllegalArgumentException("expected --key value, got '" + argv[i] + "'");
            }
            String key = argv[i].substring(2);
            if (!values.containsKey(key)) {
                throw new IllegalArgumentException("unknown option --" + key);
            }
            values.put(key, argv[++i]);
        }
        return new Settings(ints("sizes", values.get("sizes")), integer("namespaces", values.get("namespaces")),
                integer("rounds", values.get("rounds")), integer("workers", values.get("workers")),
                integer("rate", values.get("rate")), integer("updates", values.get("updates")),
                integer("warmup-updates", values.get("warmup-updates")), shardedSizes(values.get("sharded-sizes")), ints("replicas", values.get("replicas")),
                contenders(values.get("contenders")), flags(values.get("jvm-flags")), Path.of(values.get("josdk-jar")), Path.of(values.get("out")),
                ints("sharded-timings", values.get("sharded-timings")), new CpuCap(decimal("replica-cpu", values.get("replica-cpu"))),
                integer("attempts", values.get("attempts")), integer("sharded-warmup-rounds", values.get("sharded-warmup-rounds")),
                sizesOrNone("side-sizes", values.get("side-sizes")),
                flags(values.get("sharded-jvm-flags")));
    }

    /** JVM flags separated by white space; none for a blank value (not one empty argument, which the JVM refuses). */
    static List<String> flags(String raw) {
        return raw.isBlank() ? List.of() : Arrays.asList(raw.trim().split("\\s+"));
    }

    private static int integer(String key, String raw) {
        try {
            return Integer.parseInt(raw.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + key + " must be a whole number, got '" + raw + "'");
        }
    }

    private static double decimal(String key, String raw) {
        try {
            return Double.parseDouble(raw.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + key + " must be a number, got '" + raw + "'");
        }
    }

    private static List<Integer> shardedSizes(String raw) {
        return sizesOrNone("sharded-sizes", raw);
    }

    private static List<Integer> sizesOrNone(String key, String raw) {
        return raw.trim().equals("0") ? List.of() : ints(key, raw);
    }

    /** The contenders that run at size {@code n}: the compared ones always, the side rows at {@link #sideSizes}. */
    List<Contender> contendersAt(int n) {
        return contenders.stream().filter(c -> c.compared() || sideSizes.contains(n)).toList();
    }

    private static List<Contender> contenders(String raw) {
        if (raw.trim().equalsIgnoreCase("none")) {
            return List.of();
        }
        return Arrays.stream(raw.split(",")).map(s -> {
            try {
                return Contender.valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--contenders takes " + Arrays.stream(Contender.values())
                        .map(c -> c.name().toLowerCase(java.util.Locale.ROOT)).collect(java.util.stream.Collectors.joining(", "))
                        + " or none, got '" + s + "'");
            }
        }).distinct().toList();
    }

    private static List<Integer> ints(String key, String raw) {
        return Arrays.stream(raw.split(",")).map(s -> integer(key, s)).toList();
    }
}
