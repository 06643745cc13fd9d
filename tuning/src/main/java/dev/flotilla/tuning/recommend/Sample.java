package dev.flotilla.tuning.recommend;

/**
 * One point of a time series as Prometheus returns it: seconds since the epoch and a value that
 * may be NaN (Prometheus encodes "no value" and divisions by zero that way).
 */
public record Sample(long epochSecond, double value) {

    public boolean isFinite() {
        return Double.isFinite(value);
    }
}
