package dev.flotilla.bench.protocol;

import java.util.Arrays;
import java.util.Map;

/**
 * Count and percentiles (nearest rank) of latency samples, in milliseconds.
 *
 * <pre>{@code
 * LatencySummary s = LatencySummary.of(new long[] {1200, 800, 30000}); // microseconds
 * s.p99Millis(); // 30.0
 * }</pre>
 */
public record LatencySummary(int count, double p50Millis, double p99Millis, double maxMillis) {

    public static LatencySummary of(long[] micros) {
        if (micros.length == 0) {
            return new LatencySummary(0, Double.NaN, Double.NaN, Double.NaN);
        }
        long[] sorted = micros.clone();
        Arrays.sort(sorted);
        return new LatencySummary(sorted.length, rank(sorted, 0.50), rank(sorted, 0.99), sorted[sorted.length - 1] / 1000.0);
    }

    private static double rank(long[] sorted, double q) {
        int index = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1000.0;
    }

    /** As protocol fields, prefixed: {@code <prefix>Count}, {@code <prefix>P50}, ... */
    public Map<String, String> fields(String prefix) {
        return Map.of(prefix + "Count", Integer.toString(count), prefix + "P50", Double.toString(p50Millis),
                prefix + "P99", Double.toString(p99Millis), prefix + "Max", Double.toString(maxMillis));
    }

    public static LatencySummary from(Message m, String prefix) {
        return new LatencySummary((int) m.longField(prefix + "Count"), m.doubleField(prefix + "P50"),
                m.doubleField(prefix + "P99"), m.doubleField(prefix + "Max"));
    }
}
