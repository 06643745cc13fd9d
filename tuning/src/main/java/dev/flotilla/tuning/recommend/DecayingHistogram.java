package dev.flotilla.tuning.recommend;

import java.time.Duration;
import java.time.Instant;

/**
 * A histogram with exponentially growing buckets whose samples lose half their weight every
 * {@code halfLife}, as the Vertical Pod Autoscaler keeps CPU usage: recent behaviour counts more,
 * old peaks fade instead of pinning the recommendation forever.
 *
 * <pre>{@code
 * Series usage; // CPU cores used, sampled
 * Instant now = Instant.now();
 * DecayingHistogram h = DecayingHistogram.forCpuCores(Duration.ofHours(24), now);
 * usage.samples().forEach(s -> h.add(s.value(), Instant.ofEpochSecond(s.epochSecond())));
 * double p90 = h.percentile(0.9);
 * }</pre>
 */
public final class DecayingHistogram {

    private final double first;
    private final double ratio;
    private final double[] weights;
    private final double halfLifeSeconds;
    private final Instant reference;
    private double total;

    /** @param reference the instant at which a sample weighs 1 (normally "now") */
    public DecayingHistogram(double first, double ratio, int buckets, Duration halfLife, Instant reference) {
        if (!(first > 0) || !(ratio > 1) || buckets < 2) {
            throw new IllegalArgumentException("histogram needs first > 0, ratio > 1 and at least 2 buckets");
        }
        if (halfLife.isNegative() || halfLife.isZero()) {
            throw new IllegalArgumentException("half-life must be positive, got " + halfLife);
        }
        this.first = first;
        this.ratio = ratio;
        this.weights = new double[buckets];
        this.halfLifeSeconds = halfLife.toNanos() / 1e9;
        this.reference = reference;
    }

    /** VPA's CPU buckets: from 0.01 cores growing 5% each, up to about 1000 cores. */
    public static DecayingHistogram forCpuCores(Duration halfLife, Instant reference) {
        return new DecayingHistogram(0.01, 1.05, 240, halfLife, reference);
    }

    public void add(double value, Instant at) {
        if (!Double.isFinite(value) || value < 0) {
            return;
        }
        double age = reference.getEpochSecond() - at.getEpochSecond();
        double weight = Math.pow(0.5, Math.max(0, age) / halfLifeSeconds);
        weights[bucketOf(value)] += weight;
        total += weight;
    }

    private int bucketOf(double value) {
        if (value <= first) {
            return 0;
        }
        int b = (int) Math.ceil(Math.log(value / first) / Math.log(ratio));
        return Math.min(weights.length - 1, b);
    }

    /** The upper bound of the bucket holding the {@code p} quantile of the decayed weight; 0 when empty. */
    public double percentile(double p) {
        if (total <= 0) {
            return 0;
        }
        double target = p * total;
        double seen = 0;
        for (int b = 0; b < weights.length; b++) {
            seen += weights[b];
            if (seen >= target) {
                return first * Math.pow(ratio, b);
            }
        }
        return first * Math.pow(ratio, weights.length - 1);
    }

    public boolean isEmpty() {
        return total <= 0;
    }
}
