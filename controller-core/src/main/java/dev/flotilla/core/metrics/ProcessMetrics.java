package dev.flotilla.core.metrics;

import static dev.flotilla.core.metrics.MetricNames.*;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalDouble;

/**
 * The process metrics every Prometheus client library exports ({@code process_cpu_seconds_total},
 * {@code process_resident_memory_bytes}, {@code process_open_fds}, {@code process_max_fds},
 * {@code process_start_time_seconds}), read from {@code /proc/self} the way client_golang's procfs
 * collector reads them, so dashboards and alerts written for Go controllers work unchanged.
 *
 * <p>Where {@code /proc} is absent (not Linux) the JVM's {@link OperatingSystemMXBean} stands in
 * for CPU time and file descriptors, and {@link java.lang.management.RuntimeMXBean#getStartTime()}
 * for the start time; resident memory has no JVM equivalent and is then not registered (an absent
 * series is honest, a made-up one is not).
 *
 * <pre>{@code
 * new ProcessMetrics().bindTo(registry);
 * }</pre>
 */
public final class ProcessMetrics implements MeterBinder {

    /**
     * Clock ticks per second of the times in {@code /proc/<pid>/stat}: USER_HZ, which the kernel
     * fixes at 100 for user space on every architecture Java runs on (procfs hard-codes it too).
     */
    static final double USER_HZ = 100;

    private final Path proc;

    /** Reads {@code /proc}. */
    public ProcessMetrics() {
        this(Path.of("/proc"));
    }

    /** Reads {@code proc} instead of {@code /proc}: a missing directory selects the JVM fallback. */
    ProcessMetrics(Path proc) {
        this.proc = proc;
    }

    /** Whether the numbers come from procfs ({@code false}: the JVM's fallback). */
    boolean usesProcfs() {
        return Files.isReadable(proc.resolve("self/stat"));
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        if (usesProcfs()) {
            bindProcfs(registry);
        } else {
            bindJvm(registry);
        }
    }

    private void bindProcfs(MeterRegistry registry) {
        Path self = proc.resolve("self");
        FunctionCounter.builder(PROCESS_CPU_SECONDS_TOTAL, this, p -> p.cpuSeconds(self))
                .description("Total user and system CPU time spent in seconds").register(registry);
        Gauge.builder(PROCESS_RESIDENT_MEMORY_BYTES, this, p -> p.residentBytes(self))
                .description("Resident memory size in bytes").register(registry);
        Gauge.builder(PROCESS_OPEN_FDS, this, p -> p.openFds(self)).description("Number of open file descriptors")
                .register(registry);
        Gauge.builder(PROCESS_MAX_FDS, this, p -> p.maxFds(self)).description("Maximum number of open file descriptors")
                .register(registry);
        // Fixed for the process's life: read once, so a scrape never fails on it.
        double start = startTimeSeconds(self).orElse(ManagementFactory.getRuntimeMXBean().getStartTime() / 1000.0);
        Gauge.builder(PROCESS_START_TIME_SECONDS, () -> start)
                .description("Start time of the process since unix epoch in seconds").register(registry);
    }

    private static void bindJvm(MeterRegistry registry) {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            FunctionCounter.builder(PROCESS_CPU_SECONDS_TOTAL, sun, b -> b.getProcessCpuTime() / 1e9)
                    .description("Total user and system CPU time spent in seconds").register(registry);
        }
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            Gauge.builder(PROCESS_OPEN_FDS, unix, com.sun.management.UnixOperatingSystemMXBean::getOpenFileDescriptorCount)
                    .description("Number of open file descriptors").register(registry);
            Gauge.builder(PROCESS_MAX_FDS, unix, com.sun.management.UnixOperatingSystemMXBean::getMaxFileDescriptorCount)
                    .description("Maximum number of open file descriptors").register(registry);
        }
        double start = ManagementFactory.getRuntimeMXBean().getStartTime() / 1000.0;
        Gauge.builder(PROCESS_START_TIME_SECONDS, () -> start)
                .description("Start time of the process since unix epoch in seconds").register(registry);
    }

    /** The fields of {@code /proc/self/stat} after the command name, which may itself hold spaces and parentheses. */
    private static String[] statFields(Path self) throws IOException {
        String stat = Files.readString(self.resolve("stat"));
        return stat.substring(stat.lastIndexOf(')') + 2).trim().split(" +");
    }

    // Field numbers below are proc(5)'s, counted from 1 with pid=1 and comm=2, so index = number - 3.

    double cpuSeconds(Path self) {
        try {
            String[] f = statFields(self);
            return (Long.parseLong(f[14 - 3]) + Long.parseLong(f[15 - 3])) / USER_HZ; // utime + stime
        } catch (IOException | RuntimeException e) {
            return Double.NaN; // a scrape shows NaN rather than failing
        }
    }

    double residentBytes(Path self) {
        try {
            for (String line : Files.readAllLines(self.resolve("status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.substring(6).trim().split(" +")[0]) * 1024.0; // in kB
                }
            }
        } catch (IOException | RuntimeException e) {
            // NaN below
        }
        return Double.NaN;
    }

    double openFds(Path self) {
        int n = 0;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(self.resolve("fd"))) {
            for (Path ignored : fds) {
                n++;
            }
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
        return n; // includes the descriptor reading the directory, as procfs's count does
    }

    double maxFds(Path self) {
        try {
            for (String line : Files.readAllLines(self.resolve("limits"))) {
                if (line.startsWith("Max open files")) {
                    String soft = line.substring("Max open files".length()).trim().split(" +")[0];
                    return "unlimited".equals(soft) ? Double.POSITIVE_INFINITY : Double.parseDouble(soft);
                }
            }
        } catch (IOException | RuntimeException e) {
            // NaN below
        }
        return Double.NaN;
    }

    /** Boot time ({@code btime} of /proc/stat) plus the process's starttime (field 22, in clock ticks since boot). */
    OptionalDouble startTimeSeconds(Path self) {
        try {
            long starttime = Long.parseLong(statFields(self)[22 - 3]);
            for (String line : Files.readAllLines(proc.resolve("stat"))) {
                if (line.startsWith("btime ")) {
                    return OptionalDouble.of(Long.parseLong(line.substring(6).trim()) + starttime / USER_HZ);
                }
            }
        } catch (IOException | RuntimeException e) {
            // empty below
        }
        return OptionalDouble.empty();
    }
}
