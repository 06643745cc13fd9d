package dev.flotilla.bench.protocol;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The contender's side of the protocol: it prints {@code baseline}, then {@code ready}, then
 * answers the driver's commands on stdin until end of input (the driver ends a contender with SIGTERM):
 *
 * <ul>
 *   <li>{@code report}: {@code requests} sent so far, {@code cached} objects and {@code cpuMillis} used;</li>
 *   <li>{@code heap}: the same plus {@code retained}, heap in use after full collections;</li>
 *   <li>{@code latency}: event-to-reconcile-start ({@code start*}) and event-to-reconcile-done
 *       ({@code done*}) summaries since the last {@code latency};</li>
 * </ul>
 *
 * <pre>{@code
 * ContenderSession session = new ContenderSession();
 * session.baseline();
 * // start the controller here, wiring session.started() and session.finished() into its reconciler
 * session.ready();
 * ContenderSession.Probe probe = new ContenderSession.Probe() {
 *     public long requests() { return 0; }      // the contender's request counter
 *     public long cachedObjects() { return 0; } // its caches' size
 * };
 * session.serve(probe, () -> { }); // until stdin closes; then stops the controller
 * }</pre>
 */
public final class ContenderSession {

    public static final String BASELINE = "baseline";
    public static final String READY = "ready";
    public static final String WATCHING = "watching";
    public static final String REPORT = "report";
    public static final String HEAP = "heap";
    public static final String LATENCY = "latency";
    /**
     * {@code report} fields: the latency samples of reconcile starts and ends that the next {@code latency} would
     * drain, so that a driver can wait for the last reconcile of a stream to end instead of guessing how long it takes.
     */
    public static final String PENDING_STARTS = "pendingStarts";
    public static final String PENDING_DONE = "pendingDone";
    public static final String ERROR = "error";

    /** What the contender knows about itself. */
    public interface Probe {
        /** HTTP requests sent to the API server since the process started (every attempt). */
        long requests();

        /** Objects in the contender's caches. */
        long cachedObjects();

        /** Contender-specific fields for {@code report} and {@code heap}, e.g. a sharded replica's active shards. */
        default Map<String, String> extra() {
            return Map.of();
        }

        /** A probe without extra fields. */
        static Probe of(LongSupplier requests, LongSupplier cachedObjects) {
            return new Probe() {
                @Override
                public long requests() {
                    return requests.getAsLong();
                }

                @Override
                public long cachedObjects() {
                    return cachedObjects.getAsLong();
                }
            };
        }
    }

    private volatile long baselineDone = System.currentTimeMillis();
    private final EventLatency started = new EventLatency();
    private final EventLatency finished = new EventLatency();

    public EventLatency started() {
        return started;
    }

    public EventLatency finished() {
        return finished;
    }

    /**
     * Prints the heap the process retains before its controller starts, and how long measuring it
     * took ({@code tookMillis}: the driver leaves those forced collections out of the start-up time),
     * and how many classes the JVM has loaded so far (JVM, client, one request).
     */
    public void baseline() throws InterruptedException {
        long begin = System.currentTimeMillis();
        long retained = retainedHeap();
        baselineDone = System.currentTimeMillis();
        emit(BASELINE, Map.of("retained", Long.toString(retained), "tookMillis", Long.toString(baselineDone - begin),
                "at", Long.toString(begin),
                "classes", Long.toString(ManagementFactory.getClassLoadingMXBean().getTotalLoadedClassCount())));
    }

    /**
     * Prints that the caches are synced and reconciling has begun, with the wall-clock time and
     * {@code syncMillis}, the time since the baseline: building the controller, starting it and
     * filling its caches (what is left of start-up is the JVM and the client).
     */
    public void ready() {
        long now = System.currentTimeMillis();
        emit(READY, Map.of("at", Long.toString(now), "syncMillis", Long.toString(now - baselineDone),
                "cpuMillis", Long.toString(cpuMillis())));
    }

    /**
     * Prints that the contender reacts to source updates: for the controllers the same moment as
     * {@link #ready()}; the ceiling first writes every mirror from one LIST, then starts informers.
     */
    public void watching() {
        emit(WATCHING, Map.of("at", Long.toString(System.currentTimeMillis())));
    }

    public static synchronized void emit(String event, Map<String, String> fields) {
        System.out.println(new Message(event, fields).line());
        System.out.flush();
    }

    /** Answers commands until end of input; then runs {@code stop}. */
    public void serve(Probe probe, Runnable stop) throws IOException, InterruptedException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String command = line.trim();
            switch (command) {
                case REPORT -> {
                    Map<String, String> f = new LinkedHashMap<>(counts(probe));
                    f.put(PENDING_STARTS, Integer.toString(started.pending()));
                    f.put(PENDING_DONE, Integer.toString(finished.pending()));
                    emit(REPORT, f);
                }
                case HEAP -> {
                    long retained = retainedHeap();
                    Map<String, String> f = new LinkedHashMap<>(counts(probe));
                    f.put("retained", Long.toString(retained));
                    emit(HEAP, f);
                }
                case LATENCY -> {
                    Map<String, String> f = new LinkedHashMap<>(started.drain().fields("start"));
                    f.putAll(finished.drain().fields("done"));
                    emit(LATENCY, f);
                }
                case "" -> { }
                default -> emit(ERROR, Map.of("unknownCommand", command.replaceAll("\\s+", "_")));
            }
        }
        stop.run();
    }

    private static Map<String, String> counts(Probe probe) {
        Map<String, String> f = new LinkedHashMap<>(probe.extra());
        f.put("requests", Long.toString(probe.requests()));
        f.put("cached", Long.toString(probe.cachedObjects()));
        f.put("cpuMillis", Long.toString(cpuMillis()));
        return f;
    }

    /** CPU time this process has used so far, all threads, user and system. */
    public static long cpuMillis() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime() / 1_000_000;
        }
        return -1;
    }

    /** Heap in use after full collections: what the process retains. */
    public static long retainedHeap() throws InterruptedException {
        var memory = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        // Repeat until the figure stops falling: one System.gc() may leave weakly reachable or finalizable garbage.
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(100);
            long now = memory.getHeapMemoryUsage().getUsed();
            if (now >= used) {
                return Math.min(now, used);
            }
            used = now;
        }
        return used;
    }
}
