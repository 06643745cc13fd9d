package dev.flotilla.tuning.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The processes that stand for pod containers in the real-kernel scenarios, run as their own JVMs
 * inside a {@link ContainerCgroup}:
 * <ul>
 * <li>{@code victim}: latency-sensitive; wakes every 2 ms and works about 0.3 ms (about 13% of a core);</li>
 * <li>{@code spin}: wants a whole core, forever;</li>
 * <li>{@code grow <MiB>}: touches that much memory a MiB at a time, then holds it;</li>
 * <li>{@code bursty <plateau MiB> <burst MiB> <period ms>}: a JVM service's pattern: a live set it keeps, and
 * every period a burst of short-lived allocation, CPU-heavy, that the next GC drops.</li>
 * </ul>
 */
public final class ScenarioWorkload {

    private static volatile long sink;

    private ScenarioWorkload() {
    }

    public static void main(String[] args) {
        // Dies with the test: a test JVM that is killed leaves no workload burning CPU for the jobs after it.
        ProcessHandle parent = ProcessHandle.current().parent().orElseThrow();
        Thread.ofPlatform().daemon().start(() -> {
            while (parent.isAlive()) {
                LockSupport.parkNanos(500_000_000L);
            }
            System.exit(3);
        });
        switch (args[0]) {
            case "victim" -> victim();
            case "spin" -> {
                while (true) {
                    spin(1_000_000_000L);
                }
            }
            case "grow" -> grow(Integer.parseInt(args[1]));
            case "bursty" -> bursty(Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            default -> throw new IllegalArgumentException("unknown workload " + args[0]);
        }
    }

    private static void victim() {
        while (true) {
            LockSupport.parkNanos(2_000_000);
            spin(300_000);
        }
    }

    /** Burns CPU for {@code nanos}. */
    private static void spin(long nanos) {
        long end = System.nanoTime() + nanos;
        long x = 0;
        while (System.nanoTime() < end) {
            for (int i = 0; i < 1000; i++) {
                x += i * 31 ^ x;
            }
        }
        sink = x;
    }

    private static void grow(int mib) {
        List<byte[]> held = new ArrayList<>();
        for (int i = 0; i < mib; i++) {
            byte[] b = new byte[1 << 20];
            for (int j = 0; j < b.length; j += 4096) {
                b[j] = 1; // touch every page: resident, charged to the memory cgroup
            }
            held.add(b);
            LockSupport.parkNanos(5_000_000);
        }
        System.out.println("holding " + mib + " MiB");
        while (true) {
            LockSupport.parkNanos(1_000_000_000L);
            sink = held.size();
        }
    }

    private static void bursty(int plateauMib, int burstMib, long periodMillis) {
        List<byte[]> live = new ArrayList<>();
        for (int i = 0; i < plateauMib; i++) {
            byte[] b = new byte[1 << 20];
            for (int j = 0; j < b.length; j += 4096) {
                b[j] = 1;
            }
            live.add(b);
        }
        while (true) {
            long start = System.nanoTime();
            List<byte[]> burst = new ArrayList<>();
            for (int i = 0; i < burstMib; i++) {
                byte[] b = new byte[1 << 20];
                for (int j = 0; j < b.length; j += 4096) {
                    b[j] = (byte) i;
                }
                burst.add(b);
            }
            spin(200_000_000); // the burst's CPU: 200 ms of work per period
            sink = burst.size() + live.size();
            burst = null;
            long rest = periodMillis * 1_000_000 - (System.nanoTime() - start);
            if (rest > 0) {
                LockSupport.parkNanos(rest);
            }
        }
    }
}
