package dev.flotilla.tuning.recommend;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * A time series of one signal for one container, sorted by time, with NaN and infinite values
 * dropped on construction (they carry no information and would poison every statistic).
 *
 * <pre>{@code
 * Instant now = Instant.now();
 * Series usage = Series.of(List.of(new Sample(now.getEpochSecond() - 60, 0.4), new Sample(now.getEpochSecond(), 0.6)));
 * if (usage.isFresh(now, Duration.ofMinutes(5))) {
 *     double p95 = usage.percentile(0.95).orElseThrow();
 * }
 * }</pre>
 */
public record Series(List<Sample> samples) {

    public Series {
        Objects.requireNonNull(samples, "samples");
        List<Sample> clean = new ArrayList<>();
        for (Sample s : samples) {
            if (s != null && s.isFinite()) {
                clean.add(s);
            }
        }
        clean.sort(Comparator.comparingLong(Sample::epochSecond));
        samples = List.copyOf(clean);
    }

    public static Series of(List<Sample> samples) {
        return new Series(samples);
    }

    public static Series empty() {
        return new Series(List.of());
    }

    public boolean isEmpty() {
        return samples.isEmpty();
    }

    public Optional<Sample> latest() {
        return samples.isEmpty() ? Optional.empty() : Optional.of(samples.getLast());
    }

    /** Has a sample no older than {@code maxAge} at {@code now}: a scrape target that vanished is stale, not zero. */
    public boolean isFresh(Instant now, Duration maxAge) {
        return latest().map(s -> now.getEpochSecond() - s.epochSecond() <= maxAge.toSeconds()).orElse(false);
    }

    /** The samples from {@code since} on. */
    public Series since(Instant since) {
        return new Series(samples.stream().filter(s -> s.epochSecond() >= since.getEpochSecond()).toList());
    }

    public OptionalDouble max() {
        return samples.stream().mapToDouble(Sample::value).max();
    }

    public OptionalDouble mean() {
        return samples.stream().mapToDouble(Sample::value).average();
    }

    /** Nearest-rank percentile, {@code p} in (0, 1]. */
    public OptionalDouble percentile(double p) {
        if (samples.isEmpty()) {
            return OptionalDouble.empty();
        }
        double[] values = samples.stream().mapToDouble(Sample::value).sorted().toArray();
        int rank = (int) Math.ceil(p * values.length);
        return OptionalDouble.of(values[Math.max(0, Math.min(values.length - 1, rank - 1))]);
    }

    /**
     * The increase of a counter over the series, counting through resets (a restarted container
     * starts its counters at zero again): a drop is taken as a reset, and the value after it as
     * the increase since the reset, as Prometheus' {@code increase()} does.
     */
    public double counterIncrease() {
        double total = 0;
        for (int i = 1; i < samples.size(); i++) {
            double before = samples.get(i - 1).value();
            double after = samples.get(i).value();
            total += after >= before ? after - before : after;
        }
        return total;
    }
}
