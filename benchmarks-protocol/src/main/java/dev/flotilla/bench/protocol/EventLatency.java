package dev.flotilla.bench.protocol;

import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Event-to-reconcile latency: the driver stamps each update it sends with the wall-clock time in
 * microseconds ({@link #STAMP_ANNOTATION}); a contender calls {@link #observe} when its reconcile
 * (or, for the ceiling, its write task) sees the object. Only the first sighting of each stamp
 * counts, so reconciles triggered by the contender's own write echoing back are not measured.
 * Driver and contenders run on one machine, so they share the clock.
 *
 * <pre>{@code
 * ConfigMap source; // the object a reconcile started on
 * EventLatency started = new EventLatency();
 * started.observe(source.getMetadata().getNamespace() + "/" + source.getMetadata().getName(),
 *         source.getMetadata().getAnnotations().get(EventLatency.STAMP_ANNOTATION));
 * LatencySummary s = started.drain();
 * }</pre>
 */
public final class EventLatency {

    /** Set by the driver on every update of a source in the steady-stream phase. */
    public static final String STAMP_ANNOTATION = "bench.flotilla.dev/sent-at-micros";

    private final ConcurrentHashMap<String, Long> lastSeen = new ConcurrentHashMap<>();
    private long[] samples = new long[1024];
    private int count;

    /** The stamp among an object's annotations (which may be null), or null. */
    public static String stamp(Map<String, String> annotations) {
        return annotations == null ? null : annotations.get(STAMP_ANNOTATION);
    }

    public static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }

    /** Records now minus {@code stamp} if this is the first sighting of that stamp on {@code key}; ignores null or malformed stamps. */
    public void observe(String key, String stamp) {
        if (stamp == null) {
            return;
        }
        long sent;
        try {
            sent = Long.parseLong(stamp);
        } catch (NumberFormatException e) {
            return; // not ours; a contender never fails on someone else's annotation
        }
        long now = nowMicros();
        boolean[] first = {false};
        lastSeen.compute(key, (k, previous) -> {
            if (previous == null || previous < sent) {
                first[0] = true;
                return sent;
            }
            return previous;
        });
        if (first[0]) {
            record(Math.max(0, now - sent));
        }
    }

    private synchronized void record(long micros) {
        if (count == samples.length) {
            samples = Arrays.copyOf(samples, count * 2);
        }
        samples[count++] = micros;
    }

    /** How many samples the next {@link #drain()} would summarise. */
    public synchronized int pending() {
        return count;
    }

    /** The samples since the last drain, summarised; the recorder starts empty again. */
    public synchronized LatencySummary drain() {
        LatencySummary s = LatencySummary.of(Arrays.copyOf(samples, count));
        count = 0;
        return s;
    }
}
