package dev.flotilla.bench.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Whether something outside the benchmark took CPU during a measurement: the machine's busy CPU time
 * ({@code /proc/stat}) less what the participants used (the API server, etcd, the contenders and this
 * driver, each read from {@code /proc/<pid>}). A run whose outsiders used more than
 * {@link #LIMIT_CORES} on average is repeated; the load average before each run is recorded too.
 *
 * @param loadAverage the 1-minute load average when the measurement began
 */
record Interference(double loadAverage, double outsideCores) {

    /** Outsiders' average CPU above which a run does not count: a tenth of a core (kernel threads stay well under it here). */
    static final double LIMIT_CORES = 0.10;
    private static final Path STAT = Path.of("/proc/stat");
    private static final Path LOADAVG = Path.of("/proc/loadavg");
    private static final long USER_HZ = 100;

    boolean tookTheCpu() {
        return outsideCores > LIMIT_CORES;
    }

    /** A measurement under way: started with the participants' CPU so far. */
    static final class Watch {
        private final LongSupplier participants;
        private final double loadAverage;
        private final long busyNanos;
        private final long participantNanos;
        private final long startedNanos = System.nanoTime();

        private Watch(LongSupplier participants) {
            this.participants = participants;
            this.loadAverage = currentLoadAverage();
            this.busyNanos = machineBusyNanos();
            this.participantNanos = participants.getAsLong();
        }

        /** What outsiders used since the start. */
        Interference stop() {
            double wall = (System.nanoTime() - startedNanos) / 1e9;
            long outside = (machineBusyNanos() - busyNanos) - (participants.getAsLong() - participantNanos);
            return new Interference(loadAverage, wall <= 0 ? 0 : Math.max(0, outside) / 1e9 / wall);
        }
    }

    /**
     * Starts watching; {@code participantCpuNanos} (the participants' CPU time so far) is asked at the
     * start and at the end, over the same living processes both times.
     */
    static Watch watch(LongSupplier participantCpuNanos) {
        return new Watch(participantCpuNanos);
    }

    static double currentLoadAverage() {
        try {
            return Double.parseDouble(Files.readString(LOADAVG).trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    private static long machineBusyNanos() {
        try {
            String[] f = Files.readAllLines(STAT).getFirst().trim().split("\\s+");
            long total = 0;
            for (int i = 1; i <= Math.min(8, f.length - 1); i++) { // user nice system idle iowait irq softirq steal
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            return (total - idle) * (1_000_000_000L / USER_HZ);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    static long cpuNanos(List<ProcessHandle> processes) {
        long sum = 0;
        for (ProcessHandle p : processes) {
            sum += p.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
        }
        return sum;
    }
}
