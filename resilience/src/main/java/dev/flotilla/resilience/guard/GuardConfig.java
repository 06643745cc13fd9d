package dev.flotilla.resilience.guard;

import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Everything the API guard can be tuned with: the client-side rate limits, the circuit breaker per
 * API server and the retry policy. Immutable; the canonical constructor rejects invalid values
 * with a message that names the configuration key.
 *
 * <pre>{@code
 * GuardConfig guard = GuardConfig.builder().qps(50).burst(100).build();
 * GuardConfig fromFile = GuardConfig.fromMap(Map.of("resilience.qps", "50", "resilience.burst", "100"));
 * }</pre>
 *
 * @param qps                    sustained requests per second (token bucket refill rate), watches charged once per
 *                               connection, leases excluded
 * @param burst                  token bucket capacity for normal requests
 * @param leaseQps               refill rate of the separate budget for reads and writes of single Lease objects
 * @param leaseBurst             capacity of the lease budget
 * @param maxPermitWait          the longest a request may wait for a permit; a request that would wait longer
 *                               fails with {@link RequestThrottledException} (0 = never wait)
 * @param failureRateThreshold   percentage of failed calls (5xx, timeouts, connection errors) in the sliding
 *                               window at or above which the breaker opens
 * @param slidingWindowType      COUNT_BASED (last N calls) or TIME_BASED (calls of the last N seconds)
 * @param slidingWindowSize      N: calls for a count-based window, seconds for a time-based one
 * @param minimumCalls           calls the window must hold before the failure rate is evaluated
 * @param waitInOpenState        how long the breaker fails fast before letting probes through
 * @param halfOpenCalls          probe calls let through in the half-open state
 * @param slowCallDuration       a call that takes longer counts as slow
 * @param slowCallRateThreshold  percentage of slow calls at or above which the breaker opens
 * @param retryMaxAttempts       attempts per request, the first included (1 = never retry)
 * @param retryBaseBackoff       the full-jitter backoff before retry n is uniform in [0, min(max, base * 2^(n-1))]
 * @param retryMaxBackoff        cap of the backoff
 * @param maxRetryAfter          the longest a 429/503 {@code Retry-After} is honoured; larger values wait this long
 */
public record GuardConfig(
        double qps,
        int burst,
        double leaseQps,
        int leaseBurst,
        Duration maxPermitWait,
        double failureRateThreshold,
        SlidingWindowType slidingWindowType,
        int slidingWindowSize,
        int minimumCalls,
        Duration waitInOpenState,
        int halfOpenCalls,
        Duration slowCallDuration,
        double slowCallRateThreshold,
        int retryMaxAttempts,
        Duration retryBaseBackoff,
        Duration retryMaxBackoff,
        Duration maxRetryAfter) {

    /** Prefix of every key {@link #fromMap} reads; other keys are ignored. */
    public static final String PREFIX = "resilience.";

    // ---- Defaults: each one defined here, once, with the reason for the value. ----

    /** controller-runtime's default (client-go's bare default of 5 is too tight for a multi-informer controller). */
    public static final double DEFAULT_QPS = 20;
    /** controller-runtime's default burst: room for the initial LISTs of a handful of informers at start. */
    public static final int DEFAULT_BURST = 30;
    /**
     * One replica holding all 32 default shard leases plus its membership and coordinator leases, each renewed
     * with a GET and an UPDATE every 2 s (client-go's leader-election retry period): 34 x 2 / 2 s = 34 requests/s.
     */
    public static final double DEFAULT_LEASE_QPS = 40;
    /** One full renewal round of those 34 leases (68 requests) at once, with room to spare. */
    public static final int DEFAULT_LEASE_BURST = 80;
    /**
     * A request still waiting for a client-side permit after 30 s is stale: it fails, and the work queue's
     * per-key backoff takes over, instead of the backlog growing without bound.
     */
    public static final Duration DEFAULT_MAX_PERMIT_WAIT = Duration.ofSeconds(30);
    /** Resilience4j's default: open when at least half of the recent calls failed. */
    public static final double DEFAULT_FAILURE_RATE_THRESHOLD = 50;
    /** Time-based: the window is the last seconds whatever the traffic (a count window can span hours). */
    public static final SlidingWindowType DEFAULT_SLIDING_WINDOW_TYPE = SlidingWindowType.TIME_BASED;
    /** The last 10 seconds. */
    public static final int DEFAULT_SLIDING_WINDOW_SIZE = 10;
    /** At least 10 calls in the window, so two unlucky requests of a quiet client never open the breaker. */
    public static final int DEFAULT_MINIMUM_CALLS = 10;
    /** A restarted API server is noticed within 5 s, and a dead one gets at most a few probes per 5 s. */
    public static final Duration DEFAULT_WAIT_IN_OPEN_STATE = Duration.ofSeconds(5);
    /** Three probes: one lucky answer does not close the breaker, and a recovering server is not flooded. */
    public static final int DEFAULT_HALF_OPEN_CALLS = 3;
    /** Half of fabric8's 10 s request timeout: past it a call is slow, and at 10 s it fails as a timeout. */
    public static final Duration DEFAULT_SLOW_CALL_DURATION = Duration.ofSeconds(5);
    /** Only a window in which every call was slow opens the breaker: large LISTs are legitimately slow. */
    public static final double DEFAULT_SLOW_CALL_RATE_THRESHOLD = 100;
    /** One attempt and three retries: at most 0.7 s of default backoff (0.35 s on average), then the work queue's. */
    public static final int DEFAULT_RETRY_MAX_ATTEMPTS = 4;
    /** fabric8's own initial retry interval, which this retry replaces. */
    public static final Duration DEFAULT_RETRY_BASE_BACKOFF = Duration.ofMillis(100);
    /** Caps the backoff when max attempts is raised; a worker never sleeps longer between attempts. */
    public static final Duration DEFAULT_RETRY_MAX_BACKOFF = Duration.ofSeconds(5);
    /**
     * The API server's own 429s (max-in-flight, priority and fairness) say {@code Retry-After: 1}; a value beyond
     * 10 s is treated as 10 s so a misbehaving proxy cannot park a worker for days.
     */
    public static final Duration DEFAULT_MAX_RETRY_AFTER = Duration.ofSeconds(10);

    // ---- Keys for fromMap / fromProperties. ----
    public static final String KEY_QPS = PREFIX + "qps";
    public static final String KEY_BURST = PREFIX + "burst";
    public static final String KEY_LEASE_QPS = PREFIX + "lease-qps";
    public static final String KEY_LEASE_BURST = PREFIX + "lease-burst";
    public static final String KEY_MAX_PERMIT_WAIT = PREFIX + "max-permit-wait";
    public static final String KEY_FAILURE_RATE_THRESHOLD = PREFIX + "breaker.failure-rate-threshold";
    public static final String KEY_SLIDING_WINDOW_TYPE = PREFIX + "breaker.sliding-window-type";
    public static final String KEY_SLIDING_WINDOW_SIZE = PREFIX + "breaker.sliding-window-size";
    public static final String KEY_MINIMUM_CALLS = PREFIX + "breaker.minimum-calls";
    public static final String KEY_WAIT_IN_OPEN_STATE = PREFIX + "breaker.wait-in-open-state";
    public static final String KEY_HALF_OPEN_CALLS = PREFIX + "breaker.half-open-calls";
    public static final String KEY_SLOW_CALL_DURATION = PREFIX + "breaker.slow-call-duration";
    public static final String KEY_SLOW_CALL_RATE_THRESHOLD = PREFIX + "breaker.slow-call-rate-threshold";
    public static final String KEY_RETRY_MAX_ATTEMPTS = PREFIX + "retry.max-attempts";
    public static final String KEY_RETRY_BASE_BACKOFF = PREFIX + "retry.base-backoff";
    public static final String KEY_RETRY_MAX_BACKOFF = PREFIX + "retry.max-backoff";
    public static final String KEY_MAX_RETRY_AFTER = PREFIX + "retry.max-retry-after";

    /** Upper bounds that catch typos (an extra zero) rather than express a policy. */
    static final double MAX_QPS = 100_000;
    static final int MAX_BURST = 1_000_000;
    static final int MAX_ATTEMPTS = 100;
    static final Duration MAX_DURATION = Duration.ofHours(1);

    public GuardConfig {
        Objects.requireNonNull(maxPermitWait, KEY_MAX_PERMIT_WAIT);
        Objects.requireNonNull(slidingWindowType, KEY_SLIDING_WINDOW_TYPE);
        Objects.requireNonNull(waitInOpenState, KEY_WAIT_IN_OPEN_STATE);
        Objects.requireNonNull(slowCallDuration, KEY_SLOW_CALL_DURATION);
        Objects.requireNonNull(retryBaseBackoff, KEY_RETRY_BASE_BACKOFF);
        Objects.requireNonNull(retryMaxBackoff, KEY_RETRY_MAX_BACKOFF);
        Objects.requireNonNull(maxRetryAfter, KEY_MAX_RETRY_AFTER);
        List<String> problems = new ArrayList<>();
        rate(problems, KEY_QPS, qps);
        range(problems, KEY_BURST, burst, 1, MAX_BURST);
        rate(problems, KEY_LEASE_QPS, leaseQps);
        range(problems, KEY_LEASE_BURST, leaseBurst, 1, MAX_BURST);
        duration(problems, KEY_MAX_PERMIT_WAIT, maxPermitWait, true);
        percentage(problems, KEY_FAILURE_RATE_THRESHOLD, failureRateThreshold);
        range(problems, KEY_SLIDING_WINDOW_SIZE, slidingWindowSize, 1, MAX_BURST);
        range(problems, KEY_MINIMUM_CALLS, minimumCalls, 1, MAX_BURST);
        if (slidingWindowType == SlidingWindowType.COUNT_BASED && minimumCalls > slidingWindowSize) {
            problems.add(KEY_MINIMUM_CALLS + " (" + minimumCalls + ") must not exceed " + KEY_SLIDING_WINDOW_SIZE
                    + " (" + slidingWindowSize + ") for a count-based window: the breaker could never evaluate");
        }
        duration(problems, KEY_WAIT_IN_OPEN_STATE, waitInOpenState, false);
        if (!waitInOpenState.isNegative() && !waitInOpenState.isZero() && waitInOpenState.toMillis() < 1) {
            problems.add(KEY_WAIT_IN_OPEN_STATE + " must be at least 1ms, got " + format(waitInOpenState));
        }
        range(problems, KEY_HALF_OPEN_CALLS, halfOpenCalls, 1, MAX_BURST);
        duration(problems, KEY_SLOW_CALL_DURATION, slowCallDuration, false);
        percentage(problems, KEY_SLOW_CALL_RATE_THRESHOLD, slowCallRateThreshold);
        range(problems, KEY_RETRY_MAX_ATTEMPTS, retryMaxAttempts, 1, MAX_ATTEMPTS);
        duration(problems, KEY_RETRY_BASE_BACKOFF, retryBaseBackoff, false);
        duration(problems, KEY_RETRY_MAX_BACKOFF, retryMaxBackoff, false);
        if (retryMaxBackoff.compareTo(retryBaseBackoff) < 0) {
            problems.add(KEY_RETRY_MAX_BACKOFF + " (" + format(retryMaxBackoff) + ") must not be less than "
                    + KEY_RETRY_BASE_BACKOFF + " (" + format(retryBaseBackoff) + ")");
        }
        duration(problems, KEY_MAX_RETRY_AFTER, maxRetryAfter, false);
        if (!problems.isEmpty()) {
            throw new InvalidGuardConfigException(problems);
        }
    }

    /** Every default. */
    public static GuardConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder that starts from this configuration. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Reads the keys under {@value #PREFIX} from {@code values} on top of the defaults. Keys outside the prefix
     * are ignored, so a whole configuration file can be passed; an unknown key under the prefix, an unparsable
     * value or an invalid combination fails with every problem listed, e.g. {@code resilience.qps=abc: not a
     * number}. Durations are written {@code 500ms}, {@code 5s}, {@code 2m}, {@code 1h} or ISO-8601 ({@code PT5S}).
     */
    public static GuardConfig fromMap(Map<String, String> values) {
        Objects.requireNonNull(values, "values");
        Builder builder = builder();
        List<String> problems = new ArrayList<>();
        for (var entry : new java.util.TreeMap<>(values).entrySet()) {
            String key = entry.getKey();
            if (key == null || !key.startsWith(PREFIX)) {
                continue;
            }
            Setter setter = SETTERS.get(key);
            String raw = entry.getValue() == null ? "" : entry.getValue().trim();
            if (setter == null) {
                problems.add(key + ": unknown key (known: " + String.join(", ", SETTERS.keySet()) + ")");
                continue;
            }
            try {
                setter.apply(builder, raw);
            } catch (IllegalArgumentException e) {
                problems.add(key + "=" + raw + ": " + e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidGuardConfigException(problems);
        }
        return builder.build();
    }

    /** {@link #fromMap} over the string properties of {@code properties}. */
    public static GuardConfig fromProperties(Properties properties) {
        Objects.requireNonNull(properties, "properties");
        Map<String, String> values = new LinkedHashMap<>();
        for (String name : properties.stringPropertyNames()) {
            values.put(name, properties.getProperty(name));
        }
        return fromMap(values);
    }

    /** This configuration as the keys {@link #fromMap} reads, for logs and documentation. */
    public Map<String, String> toMap() {
        Map<String, String> map = new LinkedHashMap<>();
        map.put(KEY_QPS, number(qps));
        map.put(KEY_BURST, Integer.toString(burst));
        map.put(KEY_LEASE_QPS, number(leaseQps));
        map.put(KEY_LEASE_BURST, Integer.toString(leaseBurst));
        map.put(KEY_MAX_PERMIT_WAIT, format(maxPermitWait));
        map.put(KEY_FAILURE_RATE_THRESHOLD, number(failureRateThreshold));
        map.put(KEY_SLIDING_WINDOW_TYPE, slidingWindowType == SlidingWindowType.TIME_BASED ? "time" : "count");
        map.put(KEY_SLIDING_WINDOW_SIZE, Integer.toString(slidingWindowSize));
        map.put(KEY_MINIMUM_CALLS, Integer.toString(minimumCalls));
        map.put(KEY_WAIT_IN_OPEN_STATE, format(waitInOpenState));
        map.put(KEY_HALF_OPEN_CALLS, Integer.toString(halfOpenCalls));
        map.put(KEY_SLOW_CALL_DURATION, format(slowCallDuration));
        map.put(KEY_SLOW_CALL_RATE_THRESHOLD, number(slowCallRateThreshold));
        map.put(KEY_RETRY_MAX_ATTEMPTS, Integer.toString(retryMaxAttempts));
        map.put(KEY_RETRY_BASE_BACKOFF, format(retryBaseBackoff));
        map.put(KEY_RETRY_MAX_BACKOFF, format(retryMaxBackoff));
        map.put(KEY_MAX_RETRY_AFTER, format(maxRetryAfter));
        return map;
    }

    // ---- Validation helpers ----

    private static void rate(List<String> problems, String key, double value) {
        if (!(value > 0) || Double.isInfinite(value) || value > MAX_QPS) {
            problems.add(key + " must be a positive number of requests per second up to " + number(MAX_QPS)
                    + ", got " + value);
        }
    }

    private static void range(List<String> problems, String key, int value, int min, int max) {
        if (value < min || value > max) {
            problems.add(key + " must be between " + min + " and " + max + ", got " + value);
        }
    }

    private static void percentage(List<String> problems, String key, double value) {
        if (!(value > 0 && value <= 100)) {
            problems.add(key + " must be a percentage in (0, 100], got " + value);
        }
    }

    private static void duration(List<String> problems, String key, Duration value, boolean zeroAllowed) {
        if (value.isNegative() || (!zeroAllowed && value.isZero()) || value.compareTo(MAX_DURATION) > 0) {
            problems.add(key + (zeroAllowed ? " must be between 0s and " : " must be positive and at most ")
                    + format(MAX_DURATION) + ", got " + format(value));
        }
    }

    static String format(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        if (d.toNanos() % 1_000_000_000L == 0) {
            long s = d.getSeconds();
            if (s % 3600 == 0) {
                return s / 3600 + "h";
            }
            if (s % 60 == 0) {
                return s / 60 + "m";
            }
            return s + "s";
        }
        if (d.toNanos() % 1_000_000L == 0) {
            return d.toMillis() + "ms";
        }
        return d.toString();
    }

    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    // ---- Parsing helpers (messages become "<key>=<value>: <message>") ----

    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ns|us|ms|s|m|h)");

    static Duration parseDuration(String raw) {
        if (raw.isEmpty()) {
            throw new IllegalArgumentException("empty, expected a duration such as 500ms, 5s, 2m or PT5S");
        }
        if (raw.regionMatches(true, 0, "PT", 0, 2) || raw.regionMatches(true, 0, "P", 0, 1)) {
            try {
                return Duration.parse(raw.toUpperCase(Locale.ROOT));
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException("not a duration (ISO-8601 such as PT5S, or 500ms, 5s, 2m)");
            }
        }
        Matcher m = DURATION.matcher(raw.toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            if (raw.matches("-.*")) {
                throw new IllegalArgumentException("must not be negative");
            }
            throw new IllegalArgumentException("not a duration (expected a number with a unit: ns, us, ms, s, m, h;"
                    + " e.g. 500ms, 5s, 2m, or ISO-8601 such as PT5S)");
        }
        double amount = Double.parseDouble(m.group(1));
        double nanosPerUnit = switch (m.group(2)) {
            case "ns" -> 1;
            case "us" -> 1e3;
            case "ms" -> 1e6;
            case "s" -> 1e9;
            case "m" -> 60e9;
            default -> 3600e9;
        };
        double nanos = amount * nanosPerUnit;
        if (nanos > Long.MAX_VALUE) {
            throw new IllegalArgumentException("too long");
        }
        return Duration.ofNanos(Math.round(nanos));
    }

    static double parseDouble(String raw) {
        try {
            double v = Double.parseDouble(raw);
            if (Double.isNaN(v) || Double.isInfinite(v)) {
                throw new IllegalArgumentException("not a finite number");
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a number");
        }
    }

    static int parseInt(String raw) {
        try {
            return Integer.parseInt(raw);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(raw.matches("[+-]?\\d+") ? "out of range" : "not a whole number");
        }
    }

    static SlidingWindowType parseWindowType(String raw) {
        return switch (raw.toLowerCase(Locale.ROOT)) {
            case "count", "count_based", "count-based" -> SlidingWindowType.COUNT_BASED;
            case "time", "time_based", "time-based" -> SlidingWindowType.TIME_BASED;
            default -> throw new IllegalArgumentException("not a sliding window type (expected count or time)");
        };
    }

    /** Parses a raw value and sets it on a builder; the range is checked when the configuration is built. */
    private interface Setter {
        void apply(Builder builder, String raw);

        static <T> Setter of(Function<String, T> parse, BiConsumer<Builder, T> set) {
            return (builder, raw) -> set.accept(builder, parse.apply(raw));
        }
    }

    private static final Map<String, Setter> SETTERS = new LinkedHashMap<>();

    static {
        SETTERS.put(KEY_QPS, Setter.of(GuardConfig::parseDouble, Builder::qps));
        SETTERS.put(KEY_BURST, Setter.of(GuardConfig::parseInt, Builder::burst));
        SETTERS.put(KEY_LEASE_QPS, Setter.of(GuardConfig::parseDouble, Builder::leaseQps));
        SETTERS.put(KEY_LEASE_BURST, Setter.of(GuardConfig::parseInt, Builder::leaseBurst));
        SETTERS.put(KEY_MAX_PERMIT_WAIT, Setter.of(GuardConfig::parseDuration, Builder::maxPermitWait));
        SETTERS.put(KEY_FAILURE_RATE_THRESHOLD, Setter.of(GuardConfig::parseDouble, Builder::failureRateThreshold));
        SETTERS.put(KEY_SLIDING_WINDOW_TYPE, Setter.of(GuardConfig::parseWindowType, Builder::slidingWindowType));
        SETTERS.put(KEY_SLIDING_WINDOW_SIZE, Setter.of(GuardConfig::parseInt, Builder::slidingWindowSize));
        SETTERS.put(KEY_MINIMUM_CALLS, Setter.of(GuardConfig::parseInt, Builder::minimumCalls));
        SETTERS.put(KEY_WAIT_IN_OPEN_STATE, Setter.of(GuardConfig::parseDuration, Builder::waitInOpenState));
        SETTERS.put(KEY_HALF_OPEN_CALLS, Setter.of(GuardConfig::parseInt, Builder::halfOpenCalls));
        SETTERS.put(KEY_SLOW_CALL_DURATION, Setter.of(GuardConfig::parseDuration, Builder::slowCallDuration));
        SETTERS.put(KEY_SLOW_CALL_RATE_THRESHOLD, Setter.of(GuardConfig::parseDouble, Builder::slowCallRateThreshold));
        SETTERS.put(KEY_RETRY_MAX_ATTEMPTS, Setter.of(GuardConfig::parseInt, Builder::retryMaxAttempts));
        SETTERS.put(KEY_RETRY_BASE_BACKOFF, Setter.of(GuardConfig::parseDuration, Builder::retryBaseBackoff));
        SETTERS.put(KEY_RETRY_MAX_BACKOFF, Setter.of(GuardConfig::parseDuration, Builder::retryMaxBackoff));
        SETTERS.put(KEY_MAX_RETRY_AFTER, Setter.of(GuardConfig::parseDuration, Builder::maxRetryAfter));
    }

    /** Thrown for an invalid configuration; {@link #problems()} lists each problem, the message joins them. */
    public static final class InvalidGuardConfigException extends IllegalArgumentException {
        private final List<String> problems;

        InvalidGuardConfigException(List<String> problems) {
            super("invalid API guard configuration: " + String.join("; ", problems));
            this.problems = List.copyOf(problems);
        }

        public List<String> problems() {
            return problems;
        }
    }

    /** Mutable builder; every field starts at its default. */
    public static final class Builder {
        private double qps = DEFAULT_QPS;
        private int burst = DEFAULT_BURST;
        private double leaseQps = DEFAULT_LEASE_QPS;
        private int leaseBurst = DEFAULT_LEASE_BURST;
        private Duration maxPermitWait = DEFAULT_MAX_PERMIT_WAIT;
        private double failureRateThreshold = DEFAULT_FAILURE_RATE_THRESHOLD;
        private SlidingWindowType slidingWindowType = DEFAULT_SLIDING_WINDOW_TYPE;
        private int slidingWindowSize = DEFAULT_SLIDING_WINDOW_SIZE;
        private int minimumCalls = DEFAULT_MINIMUM_CALLS;
        private Duration waitInOpenState = DEFAULT_WAIT_IN_OPEN_STATE;
        private int halfOpenCalls = DEFAULT_HALF_OPEN_CALLS;
        private Duration slowCallDuration = DEFAULT_SLOW_CALL_DURATION;
        private double slowCallRateThreshold = DEFAULT_SLOW_CALL_RATE_THRESHOLD;
        private int retryMaxAttempts = DEFAULT_RETRY_MAX_ATTEMPTS;
        private Duration retryBaseBackoff = DEFAULT_RETRY_BASE_BACKOFF;
        private Duration retryMaxBackoff = DEFAULT_RETRY_MAX_BACKOFF;
        private Duration maxRetryAfter = DEFAULT_MAX_RETRY_AFTER;

        private Builder() {
        }

        private Builder(GuardConfig c) {
            qps = c.qps;
            burst = c.burst;
            leaseQps = c.leaseQps;
            leaseBurst = c.leaseBurst;
            maxPermitWait = c.maxPermitWait;
            failureRateThreshold = c.failureRateThreshold;
            slidingWindowType = c.slidingWindowType;
            slidingWindowSize = c.slidingWindowSize;
            minimumCalls = c.minimumCalls;
            waitInOpenState = c.waitInOpenState;
            halfOpenCalls = c.halfOpenCalls;
            slowCallDuration = c.slowCallDuration;
            slowCallRateThreshold = c.slowCallRateThreshold;
            retryMaxAttempts = c.retryMaxAttempts;
            retryBaseBackoff = c.retryBaseBackoff;
            retryMaxBackoff = c.retryMaxBackoff;
            maxRetryAfter = c.maxRetryAfter;
        }

        public Builder qps(double v) { qps = v; return this; }
        public Builder burst(int v) { burst = v; return this; }
        public Builder leaseQps(double v) { leaseQps = v; return this; }
        public Builder leaseBurst(int v) { leaseBurst = v; return this; }
        public Builder maxPermitWait(Duration v) { maxPermitWait = v; return this; }
        public Builder failureRateThreshold(double v) { failureRateThreshold = v; return this; }
        public Builder slidingWindowType(SlidingWindowType v) { slidingWindowType = v; return this; }
        public Builder slidingWindowSize(int v) { slidingWindowSize = v; return this; }
        public Builder minimumCalls(int v) { minimumCalls = v; return this; }
        public Builder waitInOpenState(Duration v) { waitInOpenState = v; return this; }
        public Builder halfOpenCalls(int v) { halfOpenCalls = v; return this; }
        public Builder slowCallDuration(Duration v) { slowCallDuration = v; return this; }
        public Builder slowCallRateThreshold(double v) { slowCallRateThreshold = v; return this; }
        public Builder retryMaxAttempts(int v) { retryMaxAttempts = v; return this; }
        public Builder retryBaseBackoff(Duration v) { retryBaseBackoff = v; return this; }
        public Builder retryMaxBackoff(Duration v) { retryMaxBackoff = v; return this; }
        public Builder maxRetryAfter(Duration v) { maxRetryAfter = v; return this; }

        /** @throws InvalidGuardConfigException listing every invalid value */
        public GuardConfig build() {
            return new GuardConfig(qps, burst, leaseQps, leaseBurst, maxPermitWait, failureRateThreshold,
                    slidingWindowType, slidingWindowSize, minimumCalls, waitInOpenState, halfOpenCalls,
                    slowCallDuration, slowCallRateThreshold, retryMaxAttempts, retryBaseBackoff, retryMaxBackoff,
                    maxRetryAfter);
        }
    }
}
