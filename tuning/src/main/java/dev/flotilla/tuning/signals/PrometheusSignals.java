package dev.flotilla.tuning.signals;

import dev.flotilla.tuning.recommend.ContainerSignals;
import dev.flotilla.tuning.recommend.Sample;
import dev.flotilla.tuning.recommend.Series;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.function.DoubleBinaryOperator;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * Reads a container's signals from Prometheus: range queries over the look-back window, one per signal and
 * batch of at most {@code podsPerQuery} pods, merged here into what one query over all the pods would have
 * said. Usage series of all the workload's pods are pooled (as the VPA pools them); throttling is
 * {@code sum(throttled)/sum(periods)} across the pods, run-queue latency the p99 of the buckets summed across
 * the pods (Prometheus' {@code histogram_quantile} interpolation, computed here over the batches' summed
 * bucket rates), pressure the maximum across the pods, and OOM kills are counted per series. A signal whose
 * queries return no series is absent (the recommender then says so and skips its rules); a Prometheus that
 * cannot answer at all fails the whole fetch, so that nothing is decided on half the picture.
 *
 * <p>Names go into PromQL string literals escaped, and pod names into the {@code pod=~} regex escaped as
 * regex literals, so pod {@code web.1} selects {@code web.1} only, never {@code webx1}.
 *
 * <pre>{@code
 * var prometheus = new PrometheusClient(URI.create("http://prometheus:9090"), Duration.ofSeconds(10));
 * var signals = new PrometheusSignals(prometheus, SignalMetrics.defaults(), Duration.ofHours(24), Duration.ofMinutes(1),
 *         Duration.ofMinutes(5));
 * ContainerSignals s = signals.fetch("shop", List.of("web-0", "web-1"), "app", Instant.now());
 * }</pre>
 */
public final class PrometheusSignals implements SignalSource {

    /**
     * Pods per query: with names of up to 63 characters a batch's selector stays under about 3.5 KB, and a
     * batch's answer over 24 h at a 1-minute step about 2 MB.
     */
    public static final int DEFAULT_PODS_PER_QUERY = 50;

    private static final Pattern SAFE = Pattern.compile("[a-z0-9]([-a-z0-9._]*[a-z0-9])?");
    /** RE2's metacharacters; a backslash before any of them makes it literal. */
    private static final String REGEX_META = "\\.+*?()|[]{}^$";
    private static final String THROTTLED = "throttled";
    private static final String PERIODS = "periods";
    private static final String PART = "flotilla_part";

    private final PrometheusClient prometheus;
    private final SignalMetrics names;
    private final Duration window;
    private final Duration step;
    private final Duration rateWindow;
    private final int podsPerQuery;

    /**
     * With {@link #DEFAULT_PODS_PER_QUERY} pods per query.
     *
     * @param window     how far back to look (e.g. 24h in production, minutes in tests)
     * @param step       the resolution of the range queries
     * @param rateWindow the range of rate() and histogram_quantile() (at least 4 scrape intervals)
     */
    public PrometheusSignals(PrometheusClient prometheus, SignalMetrics names, Duration window, Duration step,
            Duration rateWindow) {
        this(prometheus, names, window, step, rateWindow, DEFAULT_PODS_PER_QUERY);
    }

    /** @param podsPerQuery the most pods one query selects; more pods are read in batches and merged */
    public PrometheusSignals(PrometheusClient prometheus, SignalMetrics names, Duration window, Duration step,
            Duration rateWindow, int podsPerQuery) {
        this.prometheus = Objects.requireNonNull(prometheus, "prometheus");
        this.names = Objects.requireNonNull(names, "names");
        this.window = Objects.requireNonNull(window, "window");
        this.step = Objects.requireNonNull(step, "step");
        this.rateWindow = Objects.requireNonNull(rateWindow, "rateWindow");
        if (podsPerQuery < 1) {
            throw new IllegalArgumentException("podsPerQuery must be at least 1, got " + podsPerQuery);
        }
        this.podsPerQuery = podsPerQuery;
    }

    /** The names this source queries. */
    public SignalMetrics names() {
        return names;
    }

    @Override
    public SignalSource withMetricNames(Map<SignalMetric, String> overrides) {
        return overrides.isEmpty() ? this
                : new PrometheusSignals(prometheus, names.with(overrides), window, step, rateWindow, podsPerQuery);
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
        List<String> distinct = List.copyOf(new LinkedHashSet<>(pods));
        List<String> selectors = new ArrayList<>();
        for (int i = 0; i < distinct.size(); i += podsPerQuery) {
            selectors.add(selector(namespace, distinct.subList(i, Math.min(distinct.size(), i + podsPerQuery)), container));
        }
        String r = "[" + rateWindow.toSeconds() + "s]";
        Series cpu = pooled(union(selectors, sel -> "sum by (pod) (rate(" + names.name(SignalMetric.CPU_USAGE) + sel + r + "))", now));
        // Both sums in one query per batch, told apart by a label; the ratio is taken once all batches are summed.
        List<Map<Map<String, String>, Series>> throttling = perBatch(selectors, sel -> "label_replace(sum(rate("
                + names.name(SignalMetric.CFS_THROTTLED_PERIODS) + sel + r + ")), \"" + PART + "\", \"" + THROTTLED + "\", \"\", \"\") or "
                + "label_replace(sum(rate(" + names.name(SignalMetric.CFS_PERIODS) + sel + r + ")), \"" + PART + "\", \"" + PERIODS
                + "\", \"\", \"\")", now);
        Optional<Series> throttled = present(ratio(part(throttling, THROTTLED), part(throttling, PERIODS)));
        Optional<Series> runq = present(p99(perBatch(selectors, sel -> "sum by (le) (rate(" + names.name(SignalMetric.RUN_QUEUE_LATENCY_BUCKET) + sel
                + r + "))", now)));
        Optional<Series> cpuPressure = present(fold(union(selectors, sel -> "max(rate(" + names.name(SignalMetric.CPU_PRESSURE_WAITING) + sel + r
                + "))", now).values(), Math::max));
        Series memory = pooled(union(selectors, sel -> "max by (pod) (" + names.name(SignalMetric.MEMORY_WORKING_SET) + sel + ")", now));
        Optional<Series> memPressure = present(fold(union(selectors, sel -> "max(rate(" + names.name(SignalMetric.MEMORY_PRESSURE_STALLED) + sel + r
                + "))", now).values(), Math::max));
        Optional<Series> ooms = counter(union(selectors, sel -> names.name(SignalMetric.OOM_EVENTS) + sel, now));
        if (ooms.isEmpty()) {
            ooms = counter(union(selectors, sel -> names.name(SignalMetric.EBPF_OOM_KILLS) + sel, now));
        }
        return new ContainerSignals(cpu, throttled, runq, cpuPressure, memory, memPressure, ooms);
    }

    private static void check(String what, String value) throws SignalsUnavailableException {
        if (value == null || !SAFE.matcher(value).matches()) {
            // Only Kubernetes names are ever asked for; anything else is a caller's bug, not something to quote.
            throw new SignalsUnavailableException(what + " name '" + value + "' is not a valid Kubernetes name");
        }
    }

    /** The series selector of one batch: exact namespace and container, the pods as an alternation of regex literals. */
    static String selector(String namespace, List<String> pods, String container) {
        StringBuilder alternatives = new StringBuilder();
        for (String pod : pods) {
            if (!alternatives.isEmpty()) {
                alternatives.append('|');
            }
            alternatives.append(regexLiteral(pod));
        }
        return "{namespace=" + stringLiteral(namespace) + ",pod=~" + stringLiteral(alternatives.toString()) + ",container="
                + stringLiteral(container) + "}";
    }

    /** {@code s} matched literally by an RE2 regex (Prometheus anchors {@code =~} at both ends). */
    static String regexLiteral(String s) {
        StringBuilder out = new StringBuilder(s.length() + 4);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (REGEX_META.indexOf(c) >= 0) {
                out.append('\\');
            }
            out.append(c);
        }
        return out.toString();
    }

    /** A PromQL double-quoted string literal whose value is {@code s}. */
    static String stringLiteral(String s) {
        StringBuilder out = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '"' -> out.append("\\\"");
                case '\n' -> out.append("\\n");
                default -> out.append(c);
            }
        }
        return out.append('"').toString();
    }

    /** Each batch's answer to its query. */
    private List<Map<Map<String, String>, Series>> perBatch(List<String> selectors, UnaryOperator<String> query, Instant now)
            throws SignalsUnavailableException, InterruptedException {
        List<Map<Map<String, String>, Series>> answers = new ArrayList<>();
        for (String sel : selectors) {
            answers.add(prometheus.rangeQuery(query.apply(sel), now.minus(window), now, step));
        }
        return answers;
    }

    /** All batches' series in one map; batches select disjoint pods, so their per-pod series do not collide. */
    private Map<Map<String, String>, Series> union(List<String> selectors, UnaryOperator<String> query, Instant now)
            throws SignalsUnavailableException, InterruptedException {
        List<Map<Map<String, String>, Series>> answers = perBatch(selectors, query, now);
        if (answers.size() == 1) {
            return answers.getFirst();
        }
        // An aggregate without labels (max(...)) has the same empty label set in every batch: keep each apart.
        Map<Map<String, String>, Series> all = new LinkedHashMap<>();
        for (int i = 0; i < answers.size(); i++) {
            for (Map.Entry<Map<String, String>, Series> e : answers.get(i).entrySet()) {
                Map<String, String> key = all.containsKey(e.getKey()) ? withBatch(e.getKey(), i) : e.getKey();
                all.put(key, e.getValue());
            }
        }
        return all;
    }

    private static Map<String, String> withBatch(Map<String, String> labels, int batch) {
        Map<String, String> keyed = new TreeMap<>(labels);
        keyed.put("flotilla_batch", Integer.toString(batch));
        return Map.copyOf(keyed);
    }

    /** The series of every batch whose {@value #PART} label is {@code part}. */
    private static List<Series> part(List<Map<Map<String, String>, Series>> answers, String part) {
        List<Series> out = new ArrayList<>();
        for (Map<Map<String, String>, Series> answer : answers) {
            answer.forEach((labels, series) -> {
                if (part.equals(labels.get(PART))) {
                    out.add(series);
                }
            });
        }
        return out;
    }

    /** Per timestamp, the values the series have there combined with {@code op}. */
    static Series fold(Collection<Series> series, DoubleBinaryOperator op) {
        TreeMap<Long, Double> at = new TreeMap<>();
        for (Series s : series) {
            for (Sample sample : s.samples()) {
                at.merge(sample.epochSecond(), sample.value(), op::applyAsDouble);
            }
        }
        List<Sample> out = new ArrayList<>(at.size());
        at.forEach((t, v) -> out.add(new Sample(t, v)));
        return Series.of(out);
    }

    /**
     * {@code sum(numerators) / sum(denominators)} at each timestamp both have a value, as PromQL's division of
     * two label-less sums; 0/0 is NaN and dropped, as there.
     */
    private static Series ratio(List<Series> numerators, List<Series> denominators) {
        Series num = fold(numerators, Double::sum);
        TreeMap<Long, Double> den = new TreeMap<>();
        fold(denominators, Double::sum).samples().forEach(s -> den.put(s.epochSecond(), s.value()));
        List<Sample> out = new ArrayList<>();
        for (Sample s : num.samples()) {
            Double d = den.get(s.epochSecond());
            if (d != null) {
                out.add(new Sample(s.epochSecond(), s.value() / d));
            }
        }
        return Series.of(out);
    }

    /**
     * {@code histogram_quantile(0.99, sum by (le) (...))} over all batches: each batch's per-{@code le} rates are
     * summed per timestamp, then the quantile is interpolated as Prometheus does.
     */
    private static Series p99(List<Map<Map<String, String>, Series>> answers) {
        Map<Long, NavigableMap<Double, Double>> buckets = new TreeMap<>();
        for (Map<Map<String, String>, Series> answer : answers) {
            answer.forEach((labels, series) -> {
                OptionalDouble le = upperBound(labels.get("le"));
                if (le.isEmpty()) {
                    return; // not a bucket: Prometheus ignores it too
                }
                for (Sample s : series.samples()) {
                    buckets.computeIfAbsent(s.epochSecond(), t -> new TreeMap<>()).merge(le.getAsDouble(), s.value(), Double::sum);
                }
            });
        }
        List<Sample> out = new ArrayList<>();
        buckets.forEach((t, b) -> out.add(new Sample(t, histogramQuantile(0.99, b))));
        return Series.of(out); // NaN (no observations, no +Inf bucket) dropped, as the series Prometheus would return
    }

    private static OptionalDouble upperBound(String le) {
        if (le == null) {
            return OptionalDouble.empty();
        }
        return switch (le) {
            case "+Inf", "Inf", "inf", "+inf" -> OptionalDouble.of(Double.POSITIVE_INFINITY);
            default -> {
                try {
                    yield OptionalDouble.of(Double.parseDouble(le));
                } catch (NumberFormatException e) {
                    yield OptionalDouble.empty();
                }
            }
        };
    }

    /**
     * The {@code q}-quantile of cumulative bucket counts keyed by upper bound, interpolated linearly within the
     * bucket the rank falls in, as Prometheus' {@code histogram_quantile} does for classic buckets: NaN without a
     * {@code +Inf} bucket, with fewer than two buckets or without observations; the highest finite bound if the
     * rank falls in the {@code +Inf} bucket; counts made monotonic first (rates of different buckets are not
     * sampled at exactly the same instant).
     */
    static double histogramQuantile(double q, NavigableMap<Double, Double> cumulative) {
        if (q < 0) {
            return Double.NEGATIVE_INFINITY;
        }
        if (q > 1) {
            return Double.POSITIVE_INFINITY;
        }
        if (cumulative.size() < 2 || cumulative.lastKey() != Double.POSITIVE_INFINITY) {
            return Double.NaN;
        }
        int n = cumulative.size();
        double[] bound = new double[n];
        double[] count = new double[n];
        int i = 0;
        double max = Double.NEGATIVE_INFINITY;
        for (Map.Entry<Double, Double> e : cumulative.entrySet()) {
            bound[i] = e.getKey();
            max = Math.max(max, e.getValue());
            count[i++] = max;
        }
        double observations = count[n - 1];
        if (!(observations > 0)) {
            return Double.NaN;
        }
        double rank = q * observations;
        int b = 0;
        while (b < n - 1 && count[b] < rank) {
            b++;
        }
        if (b == n - 1) {
            return bound[n - 2];
        }
        if (b == 0 && bound[0] <= 0) {
            return bound[0];
        }
        double start = 0;
        double inBucket = count[b];
        if (b > 0) {
            start = bound[b - 1];
            inBucket -= count[b - 1];
            rank -= count[b - 1];
        }
        return start + (bound[b] - start) * (rank / inBucket);
    }

    private static Optional<Series> present(Series s) {
        return s.isEmpty() ? Optional.empty() : Optional.of(s);
    }

    /** All returned series' samples in one series (pods pooled). */
    private static Series pooled(Map<Map<String, String>, Series> result) {
        List<Sample> all = new ArrayList<>();
        result.values().forEach(s -> all.addAll(s.samples()));
        return Series.of(all);
    }

    /**
     * A counter over several series (one per pod), as one counter: each series' increase is counted
     * on its own (resets included), so a pod's series ending is not mistaken for a reset.
     */
    private static Optional<Series> counter(Map<Map<String, String>, Series> result) {
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
}
