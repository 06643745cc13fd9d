package dev.flotilla.tuning.signals;

import dev.flotilla.tuning.recommend.ContainerSignals;
import dev.flotilla.tuning.recommend.Sample;
import dev.flotilla.tuning.recommend.Series;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads a container's signals from Prometheus: one range query per signal over the look-back
 * window. Usage series of all the workload's pods are pooled (as the VPA pools them); pressure,
 * throttling and run-queue latency are taken across the pods. A signal whose query returns no
 * series is absent (the recommender then says so and skips its rules); a Prometheus that cannot
 * answer at all fails the whole fetch, so that nothing is decided on half the picture.
 */
public final class PrometheusSignals implements SignalSource {

    private static final Pattern SAFE = Pattern.compile("[a-z0-9]([-a-z0-9._]*[a-z0-9])?");

    private final PrometheusClient prometheus;
    private final SignalMetrics names;
    private final Duration window;
    private final Duration step;
    private final Duration rateWindow;

    /**
     * @param window     how far back to look (e.g. 24h in production, minutes in tests)
     * @param step       the resolution of the range queries
     * @param rateWindow the range of rate() and histogram_quantile() (at least 4 scrape intervals)
     */
    public PrometheusSignals(PrometheusClient prometheus, SignalMetrics names, Duration window, Duration step,
            Duration rateWindow) {
        this.prometheus = Objects.requireNonNull(prometheus, "prometheus");
        this.names = Objects.requireNonNull(names, "names");
        this.window = Objects.requireNonNull(window, "window");
        this.step = Objects.requireNonNull(step, "step");
        this.rateWindow = Objects.requireNonNull(rateWindow, "rateWindow");
    }

    @Override
    public ContainerSignals fetch(String namespace, List<String> pods, String container, Instant now)
            throws SignalsUnavailableException, InterruptedException {
        for (String s : pods) {
            check("pod", s);
        }
        check("namespace", namespace);
        check("container", container);
        if (pods.isEmpty()) {
            throw new SignalsUnavailableException("no pods to read signals for");
        }
        String sel = "{namespace=\"" + namespace + "\",pod=~\"" + String.join("|", pods) + "\",container=\"" + container + "\"}";
        String r = "[" + rateWindow.toSeconds() + "s]";
        Series cpu = pooled("sum by (pod) (rate(" + names.cpuUsage() + sel + r + "))", now);
        Optional<Series> throttled = single("sum(rate(" + names.cfsThrottledPeriods() + sel + r + ")) / sum(rate("
                + names.cfsPeriods() + sel + r + "))", now);
        Optional<Series> runq = single("histogram_quantile(0.99, sum by (le) (rate(" + names.runqueueLatencyBucket() + sel + r
                + ")))", now);
        Optional<Series> cpuPressure = single("max(rate(" + names.cpuPressureWaiting() + sel + r + "))", now);
        Series memory = pooled("max by (pod) (" + names.memoryWorkingSet() + sel + ")", now);
        Optional<Series> memPressure = single("max(rate(" + names.memoryPressureStalled() + sel + r + "))", now);
        Optional<Series> ooms = counter(names.oomEvents() + sel, now);
        if (ooms.isEmpty()) {
            ooms = counter(names.ebpfOomKills() + sel, now);
        }
        return new ContainerSignals(cpu, throttled, runq, cpuPressure, memory, memPressure, ooms);
    }

    private static void check(String what, String value) throws SignalsUnavailableException {
        if (value == null || !SAFE.matcher(value).matches()) {
            // Names go into PromQL: refuse anything that is not a Kubernetes name rather than quote it.
            throw new SignalsUnavailableException(what + " name '" + value + "' is not a valid Kubernetes name");
        }
    }

    /** All returned series' samples in one series (pods pooled). */
    private Series pooled(String query, Instant now) throws SignalsUnavailableException, InterruptedException {
        Map<Map<String, String>, Series> result = prometheus.rangeQuery(query, now.minus(window), now, step);
        List<Sample> all = new ArrayList<>();
        result.values().forEach(s -> all.addAll(s.samples()));
        return Series.of(all);
    }

    /**
     * A counter over several series (one per pod), as one counter: each series' increase is counted
     * on its own (resets included), so a pod's series ending is not mistaken for a reset.
     */
    private Optional<Series> counter(String query, Instant now) throws SignalsUnavailableException, InterruptedException {
        Map<Map<String, String>, Series> result = prometheus.rangeQuery(query, now.minus(window), now, step);
        if (result.isEmpty()) {
            return Optional.empty();
        }
        List<Sample> cumulative = new ArrayList<>();
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        for (Series s : result.values()) {
            if (!s.isEmpty()) {
                first = Math.min(first, s.samples().getFirst().epochSecond());
                last = Math.max(last, s.samples().getLast().epochSecond());
            }
        }
        if (first == Long.MAX_VALUE) {
            return Optional.empty();
        }
        // Each kill is placed at the time of the sample that showed it, so that "since the last change" can be cut.
        List<long[]> kills = new ArrayList<>();
        for (Series s : result.values()) {
            List<Sample> samples = s.samples();
            for (int i = 1; i < samples.size(); i++) {
                double before = samples.get(i - 1).value();
                double after = samples.get(i).value();
                double inc = after >= before ? after - before : after;
                if (inc > 0) {
                    kills.add(new long[] {samples.get(i).epochSecond(), (long) Math.round(inc)});
                }
            }
        }
        kills.sort((a, b) -> Long.compare(a[0], b[0]));
        double total = 0;
        cumulative.add(new Sample(first, 0));
        for (long[] k : kills) {
            total += k[1];
            cumulative.add(new Sample(k[0], total));
        }
        cumulative.add(new Sample(last, total));
        return Optional.of(Series.of(cumulative));
    }

    private Optional<Series> single(String query, Instant now) throws SignalsUnavailableException, InterruptedException {
        Series s = pooled(query, now);
        return s.isEmpty() ? Optional.empty() : Optional.of(s);
    }
}
