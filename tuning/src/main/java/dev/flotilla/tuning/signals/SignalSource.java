package dev.flotilla.tuning.signals;

import dev.flotilla.tuning.recommend.ContainerSignals;
import java.time.Instant;
import java.util.List;

/**
 * Where the tuner reads a container's signals from. The production source is
 * {@link PrometheusSignals}; tests may script one.
 *
 * <pre>{@code
 * SignalSource source; // e.g. PrometheusSignals
 * ContainerSignals s = source.fetch("shop", List.of("web-7d9f-abcde"), "app", Instant.now());
 * }</pre>
 */
@FunctionalInterface
public interface SignalSource {

    /** The signals of container {@code container} across {@code pods} over the look-back window ending at {@code now}. */
    ContainerSignals fetch(String namespace, List<String> pods, String container, Instant now)
            throws SignalsUnavailableException, InterruptedException;

    /**
     * This source reading the metrics of {@code overrides} under those names (a policy's
     * {@code spec.signalMetrics}); a source that queries no named metrics (a scripted one) is itself.
     */
    default SignalSource withMetricNames(java.util.Map<SignalMetric, String> overrides) {
        return this;
    }
}
