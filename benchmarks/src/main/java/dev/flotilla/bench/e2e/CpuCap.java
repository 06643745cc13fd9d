package dev.flotilla.bench.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A CFS CPU quota per contender process, as a Pod's CPU limit sets one: a cgroup v1 {@code cpu}
 * group per process with {@code cpu.cfs_quota_us} = cores x {@code cpu.cfs_period_us}. The process
 * enters its group by writing its own pid into {@code cgroup.procs} before it execs the JVM, so every
 * thread the JVM starts is capped, and the JVM sizes its pools to the quota as it would in a Pod.
 *
 * <p>Each group sits at the top of the hierarchy beside the API server and etcd, with the default
 * weight: the cap, not a share, is what limits the replica.
 *
 * @param cores the quota in cores, e.g. 0.25; 0 for no cap
 */
record CpuCap(double cores) {

    static final Path CPU = Path.of("/sys/fs/cgroup/cpu");
    static final long PERIOD_MICROS = 100_000;
    private static final String PREFIX = "flotilla-bench-";

    /** What the group's {@code cpu.stat} counted: CFS periods with runnable work, those throttled, and the time throttled. */
    record Throttling(long periods, long throttledPeriods, long throttledNanos) {
        static final Throttling NONE = new Throttling(0, 0, 0);

        Throttling minus(Throttling before) {
            return new Throttling(periods - before.periods, throttledPeriods - before.throttledPeriods,
                    throttledNanos - before.throttledNanos);
        }

        double throttledShare() {
            return periods == 0 ? 0 : (double) throttledPeriods / periods;
        }
    }

    CpuCap {
        if (!(cores >= 0) || cores > 64) {
            throw new IllegalArgumentException("--replica-cpu takes cores between 0 (no cap) and 64, got " + cores);
        }
    }

    static CpuCap none() {
        return new CpuCap(0);
    }

    boolean capped() {
        return cores > 0;
    }

    long quotaMicros() {
        return Math.max(1000, Math.round(cores * PERIOD_MICROS));
    }

    /** Empty when a cap can be set here; otherwise why not (checked before anything is spawned). */
    static Optional<String> unavailable() {
        if (!Files.isRegularFile(CPU.resolve("cpu.cfs_quota_us"))) {
            return Optional.of("no cgroup v1 cpu controller at " + CPU + " (cpu.cfs_quota_us); --replica-cpu needs one");
        }
        if (!Files.isWritable(CPU)) {
            return Optional.of(CPU + " is not writable (not root); --replica-cpu needs to create cgroups there");
        }
        return Optional.empty();
    }

    private static Path group(String label) {
        return CPU.resolve(PREFIX + label);
    }

    /**
     * Creates {@code label}'s group with the quota and returns the command prefix that moves a process
     * into it before it execs the rest; no prefix when uncapped.
     */
    List<String> enter(String label) {
        if (!capped()) {
            return List.of();
        }
        Path g = group(label);
        try {
            Files.createDirectories(g);
            Files.writeString(g.resolve("cpu.cfs_period_us"), Long.toString(PERIOD_MICROS));
            Files.writeString(g.resolve("cpu.cfs_quota_us"), Long.toString(quotaMicros()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot set a CPU cap of " + cores + " cores in " + g, e);
        }
        return List.of("/bin/sh", "-c", "echo $$ > " + g.resolve("cgroup.procs") + " && exec \"$@\"", "sh");
    }

    /**
     * Lifts {@code label}'s quota (-1: no limit) while its process keeps the sizing it made under the cap: the JVM
     * reads the quota at start (compiler threads, GC threads, its processor count), the pools it made then stay.
     */
    void lift(String label) {
        quota(label, -1);
    }

    /** Sets {@code label}'s quota back to the cap. */
    void impose(String label) {
        quota(label, quotaMicros());
    }

    private void quota(String label, long micros) {
        if (!capped()) {
            return;
        }
        Path file = group(label).resolve("cpu.cfs_quota_us");
        try {
            Files.writeString(file, Long.toString(micros));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot set " + file + " to " + micros, e);
        }
    }

    /** The group's throttling counters so far; zeros when uncapped or unreadable. */
    Throttling throttling(String label) {
        if (!capped()) {
            return Throttling.NONE;
        }
        long periods = 0;
        long throttled = 0;
        long nanos = 0;
        try {
            for (String line : Files.readAllLines(group(label).resolve("cpu.stat"))) {
                String[] kv = line.trim().split("\\s+");
                if (kv.length != 2) {
                    continue;
                }
                switch (kv[0]) {
                    case "nr_periods" -> periods = Long.parseLong(kv[1]);
                    case "nr_throttled" -> throttled = Long.parseLong(kv[1]);
                    case "throttled_time" -> nanos = Long.parseLong(kv[1]);
                    default -> {
                    }
                }
            }
        } catch (IOException | NumberFormatException e) {
            return Throttling.NONE;
        }
        return new Throttling(periods, throttled, nanos);
    }

    /** Removes {@code label}'s group once its process has gone (a killed process leaves it a moment after it is reaped). */
    void remove(String label) {
        if (!capped()) {
            return;
        }
        Path g = group(label);
        for (int attempt = 0; attempt < 50 && Files.isDirectory(g); attempt++) {
            try {
                Files.deleteIfExists(g);
            } catch (IOException e) {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    @Override
    public String toString() {
        return capped() ? String.format(Locale.ROOT, "%.2f cores", cores) : "uncapped";
    }
}
