package dev.flotilla.resilience.guard;

import dev.flotilla.core.settings.InvalidSettingsException;
import dev.flotilla.core.settings.Durations;
import dev.flotilla.core.settings.SettingsFile;
import dev.flotilla.core.settings.SettingsSection;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Everything the API guard can be tuned with, one record per pattern: the client-side {@link RateLimits}, the
 * {@link CircuitBreakerSettings} per API server and the {@link RetrySettings}. Immutable; each record's canonical
 * constructor rejects invalid values with a message that names the settings key. The keys are {@link #SETTINGS},
 * all under {@code resilience.}; {@link #from(SettingsFile)} reads them through core's settings reader.
 *
 * <pre>{@code
 * GuardConfig guard = GuardConfig.builder().qps(50).burst(100).build();
 * GuardConfig fromFile = GuardConfig.from(SettingsFile.of("config flotilla.properties",
 *         Map.of("resilience.qps", "50", "resilience.retry.max-attempts", "2")));
 * double qps = fromFile.rateLimits().qps();          // 50
 * int attempts = fromFile.retry().maxAttempts();     // 2
 * Duration open = fromFile.breaker().waitInOpenState(); // the default, 5s
 * }</pre>
 *
 * @param rateLimits the token buckets (requests and leases) and how long a request may wait for a permit
 * @param breaker    the circuit breaker per API server
 * @param retry      the retry policy and its waits
 */
public record GuardConfig(RateLimits rateLimits, CircuitBreakerSettings breaker, RetrySettings retry) {

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

    // ---- Keys: the guard reads these and no others (SETTINGS), all under "resilience.". ----
    public static final String KEY_QPS = "resilience.qps";
    public static final String KEY_BURST = "resilience.burst";
    public static final String KEY_LEASE_QPS = "resilience.lease-qps";
    public static final String KEY_LEASE_BURST = "resilience.lease-burst";
    public static final String KEY_MAX_PERMIT_WAIT = "resilience.max-permit-wait";
    public static final String KEY_FAILURE_RATE_THRESHOLD = "resilience.breaker.failure-rate-threshold";
    public static final String KEY_SLIDING_WINDOW_TYPE = "resilience.breaker.sliding-window-type";
    public static final String KEY_SLIDING_WINDOW_SIZE = "resilience.breaker.sliding-window-size";
    public static final String KEY_MINIMUM_CALLS = "resilience.breaker.minimum-calls";
    public static final String KEY_WAIT_IN_OPEN_STATE = "resilience.breaker.wait-in-open-state";
    public static final String KEY_HALF_OPEN_CALLS = "resilience.breaker.half-open-calls";
    public static final String KEY_SLOW_CALL_DURATION = "resilience.breaker.slow-call-duration";
    public static final String KEY_SLOW_CALL_RATE_THRESHOLD = "resilience.breaker.slow-call-rate-threshold";
    public static final String KEY_RETRY_MAX_ATTEMPTS = "resilience.retry.max-attempts";
    public static final String KEY_RETRY_BASE_BACKOFF = "resilience.retry.base-backoff";
    public static final String KEY_RETRY_MAX_BACKOFF = "resilience.retry.max-backoff";
    public static final String KEY_MAX_RETRY_AFTER = "resilience.retry.max-retry-after";

    /**
     * The guard's section of a settings file: prefix {@code resilience}, every key above. A program passes it to
     * {@link SettingsFile#requireKnownKeys} with its other components' sections, so that a mistyped
     * {@code resilience.*} key is refused rather than ignored.
     */
    public static final SettingsSection SETTINGS = new SettingsSection("resilience", new TreeSet<>(List.of(
            KEY_QPS, KEY_BURST, KEY_LEASE_QPS, KEY_LEASE_BURST, KEY_MAX_PERMIT_WAIT,
            KEY_FAILURE_RATE_THRESHOLD, KEY_SLIDING_WINDOW_TYPE, KEY_SLIDING_WINDOW_SIZE, KEY_MINIMUM_CALLS,
            KEY_WAIT_IN_OPEN_STATE, KEY_HALF_OPEN_CALLS, KEY_SLOW_CALL_DURATION, KEY_SLOW_CALL_RATE_THRESHOLD,
            KEY_RETRY_MAX_ATTEMPTS, KEY_RETRY_BASE_BACKOFF, KEY_RETRY_MAX_BACKOFF, KEY_MAX_RETRY_AFTER)));

    /** Upper bounds that catch typos (an extra zero) rather than express a policy. */
    static final double MAX_QPS = 100_000;
    static final int MAX_BURST = 1_000_000;
    static final int MAX_ATTEMPTS = 100;
    static final Duration MAX_DURATION = Duration.ofHours(1);

    public GuardConfig {
        Objects.requireNonNull(rateLimits, "rateLimits");
        Objects.requireNonNull(breaker, "breaker");
        Objects.requireNonNull(retry, "retry");
    }

    /**
     * The client-side budgets of one API server: a token bucket for requests and one for single Lease objects.
     *
     * @param qps           sustained requests per second (token bucket refill rate), watches charged once per
     *                      connection, leases excluded ({@value #KEY_QPS})
     * @param burst         token bucket capacity for normal requests ({@value #KEY_BURST})
     * @param leaseQps      refill rate of the separate budget for reads and writes of single Lease objects
     *                      ({@value #KEY_LEASE_QPS})
     * @param leaseBurst    capacity of the lease budget ({@value #KEY_LEASE_BURST})
     * @param maxPermitWait the longest a request may wait for a permit; a request that would wait longer is not
     *                      sent ({@link NotSent.Throttled}); 0 = never wait ({@value #KEY_MAX_PERMIT_WAIT})
     */
    public record RateLimits(double qps, int burst, double leaseQps, int leaseBurst, Duration maxPermitWait) {
        public RateLimits {
            Objects.requireNonNull(maxPermitWait, KEY_MAX_PERMIT_WAIT);
            List<String> problems = new ArrayList<>();
            rate(problems, KEY_QPS, qps);
            range(problems, KEY_BURST, burst, 1, MAX_BURST);
            rate(problems, KEY_LEASE_QPS, leaseQps);
            range(problems, KEY_LEASE_BURST, leaseBurst, 1, MAX_BURST);
            duration(problems, KEY_MAX_PERMIT_WAIT, maxPermitWait, true);
            requireNone(problems);
        }
    }

    /**
     * The circuit breaker of one API server.
     *
     * @param failureRateThreshold  percentage of failed calls (5xx, timeouts, connection errors) in the sliding
     *                              window at or above which the breaker opens ({@value #KEY_FAILURE_RATE_THRESHOLD})
     * @param slidingWindowType     COUNT_BASED (last N calls) or TIME_BASED (calls of the last N seconds)
     *                              ({@value #KEY_SLIDING_WINDOW_TYPE})
     * @param slidingWindowSize     N: calls for a count-based window, seconds for a time-based one
     *                              ({@value #KEY_SLIDING_WINDOW_SIZE})
     * @param minimumCalls          calls the window must hold before the failure rate is evaluated
     *                              ({@value #KEY_MINIMUM_CALLS})
     * @param waitInOpenState       how long the breaker fails fast before letting probes through
     *                              ({@value #KEY_WAIT_IN_OPEN_STATE})
     * @param halfOpenCalls         probe calls let through in the half-open state ({@value #KEY_HALF_OPEN_CALLS})
     * @param slowCallDuration      a call that takes longer counts as slow ({@value #KEY_SLOW_CALL_DURATION})
     * @param slowCallRateThreshold percentage of slow calls at or above which the breaker opens
     *                              ({@value #KEY_SLOW_CALL_RATE_THRESHOLD})
     */
    public record CircuitBreakerSettings(double failureRateThreshold, SlidingWindowType slidingWindowType,
            int slidingWindowSize, int minimumCalls, Duration waitInOpenState, int halfOpenCalls,
            Duration slowCallDuration, double slowCallRateThreshold) {
        public CircuitBreakerSettings {
            Objects.requireNonNull(slidingWindowType, KEY_SLIDING_WINDOW_TYPE);
            Objects.requireNonNull(waitInOpenState, KEY_WAIT_IN_OPEN_STATE);
            Objects.requireNonNull(slowCallDuration, KEY_SLOW_CALL_DURATION);
            List<String> problems = new ArrayList<>();
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
            requireNone(problems);
        }
    }

    /**
     * When and how long the guard waits before repeating a failed attempt.
     *
     * @param maxAttempts   attempts per request, the first included; 1 = never retry ({@value #KEY_RETRY_MAX_ATTEMPTS})
     * @param baseBackoff   the full-jitter backoff before retry n is uniform in [0, min(max, base * 2^(n-1))]
     *                      ({@value #KEY_RETRY_BASE_BACKOFF})
     * @param maxBackoff    cap of the backoff ({@value #KEY_RETRY_MAX_BACKOFF})
     * @param maxRetryAfter the longest a 429/503 {@code Retry-After} is honoured; larger values wait this long
     *                      ({@value #KEY_MAX_RETRY_AFTER})
     */
    public record RetrySettings(int maxAttempts, Duration baseBackoff, Duration maxBackoff, Duration maxRetryAfter) {
        public RetrySettings {
            Objects.requireNonNull(baseBackoff, KEY_RETRY_BASE_BACKOFF);
            Objects.requireNonNull(maxBackoff, KEY_RETRY_MAX_BACKOFF);
            Objects.requireNonNull(maxRetryAfter, KEY_MAX_RETRY_AFTER);
            List<String> problems = new ArrayList<>();
            range(problems, KEY_RETRY_MAX_ATTEMPTS, maxAttempts, 1, MAX_ATTEMPTS);
            duration(problems, KEY_RETRY_BASE_BACKOFF, baseBackoff, false);
            duration(problems, KEY_RETRY_MAX_BACKOFF, maxBackoff, false);
            if (maxBackoff.compareTo(baseBackoff) < 0) {
                problems.add(KEY_RETRY_MAX_BACKOFF + " (" + format(maxBackoff) + ") must not be less than "
                        + KEY_RETRY_BASE_BACKOFF + " (" + format(baseBackoff) + ")");
            }
            duration(problems, KEY_MAX_RETRY_AFTER, maxRetryAfter, false);
            requireNone(problems);
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
     * Reads the guard's keys ({@link #SETTINGS}) of {@code file} on top of the defaults; other keys are left to
     * their components (the program checks for unknown ones with {@link SettingsFile#requireKnownKeys}).
     * Durations are written {@code 500ms}, {@code 1.5s}, {@code 2m}, {@code 1h} or ISO-8601 ({@code PT5S}).
     *
     * @throws InvalidSettingsException listing every problem, each naming the file and the key: an unparsable
     *                                  value ({@code config f: resilience.qps=abc: not a number}), a value out of
     *                                  range or an invalid combination (naming both keys)
     */
    public static GuardConfig from(SettingsFile file) {
        SettingsFile.Section section = file.section(SETTINGS);
        Builder b = builder();
        List<String> problems = new ArrayList<>();
        read(problems, () -> section.number(KEY_QPS), b::qps);
        read(problems, () -> section.wholeNumber(KEY_BURST), b::burst);
        read(problems, () -> section.number(KEY_LEASE_QPS), b::leaseQps);
        read(problems, () -> section.wholeNumber(KEY_LEASE_BURST), b::leaseBurst);
        read(problems, () -> section.read(KEY_MAX_PERMIT_WAIT, Durations::parseNonNegative), b::maxPermitWait);
        read(problems, () -> section.number(KEY_FAILURE_RATE_THRESHOLD), b::failureRateThreshold);
        read(problems, () -> section.read(KEY_SLIDING_WINDOW_TYPE, GuardConfig::parseWindowType), b::slidingWindowType);
        read(problems, () -> section.wholeNumber(KEY_SLIDING_WINDOW_SIZE), b::slidingWindowSize);
        read(problems, () -> section.wholeNumber(KEY_MINIMUM_CALLS), b::minimumCalls);
        read(problems, () -> section.read(KEY_WAIT_IN_OPEN_STATE, Durations::parseNonNegative), b::waitInOpenState);
        read(problems, () -> section.wholeNumber(KEY_HALF_OPEN_CALLS), b::halfOpenCalls);
        read(problems, () -> section.read(KEY_SLOW_CALL_DURATION, Durations::parseNonNegative), b::slowCallDuration);
        read(problems, () -> section.number(KEY_SLOW_CALL_RATE_THRESHOLD), b::slowCallRateThreshold);
        read(problems, () -> section.wholeNumber(KEY_RETRY_MAX_ATTEMPTS), b::retryMaxAttempts);
        read(problems, () -> section.read(KEY_RETRY_BASE_BACKOFF, Durations::parseNonNegative), b::retryBaseBackoff);
        read(problems, () -> section.read(KEY_RETRY_MAX_BACKOFF, Durations::parseNonNegative), b::retryMaxBackoff);
        read(problems, () -> section.read(KEY_MAX_RETRY_AFTER, Durations::parseNonNegative), b::maxRetryAfter);
        if (problems.isEmpty()) {
            try {
                return b.build();
            } catch (InvalidGuardConfigException e) {
                e.problems().forEach(problem -> problems.add(section.origin() + ": " + problem));
            }
        }
        throw new InvalidSettingsException(problems);
    }

    /** Reads one key into the builder; a value that does not parse adds its problem (file, key, value, why). */
    private static <T> void read(List<String> problems, Supplier<Optional<T>> value, Consumer<T> set) {
        try {
            value.get().ifPresent(set);
        } catch (InvalidSettingsException e) {
            problems.addAll(e.problems());
        }
    }

    /** This configuration as the keys {@link #from(SettingsFile)} reads, for logs and documentation. */
    public Map<String, String> toMap() {
        Map<String, String> map = new LinkedHashMap<>();
        map.put(KEY_QPS, number(rateLimits.qps()));
        map.put(KEY_BURST, Integer.toString(rateLimits.burst()));
        map.put(KEY_LEASE_QPS, number(rateLimits.leaseQps()));
        map.put(KEY_LEASE_BURST, Integer.toString(rateLimits.leaseBurst()));
        map.put(KEY_MAX_PERMIT_WAIT, format(rateLimits.maxPermitWait()));
        map.put(KEY_FAILURE_RATE_THRESHOLD, number(breaker.failureRateThreshold()));
        map.put(KEY_SLIDING_WINDOW_TYPE, breaker.slidingWindowType() == SlidingWindowType.TIME_BASED ? "time" : "count");
        map.put(KEY_SLIDING_WINDOW_SIZE, Integer.toString(breaker.slidingWindowSize()));
        map.put(KEY_MINIMUM_CALLS, Integer.toString(breaker.minimumCalls()));
        map.put(KEY_WAIT_IN_OPEN_STATE, format(breaker.waitInOpenState()));
        map.put(KEY_HALF_OPEN_CALLS, Integer.toString(breaker.halfOpenCalls()));
        map.put(KEY_SLOW_CALL_DURATION, format(breaker.slowCallDuration()));
        map.put(KEY_SLOW_CALL_RATE_THRESHOLD, number(breaker.slowCallRateThreshold()));
        map.put(KEY_RETRY_MAX_ATTEMPTS, Integer.toString(retry.maxAttempts()));
        map.put(KEY_RETRY_BASE_BACKOFF, format(retry.baseBackoff()));
        map.put(KEY_RETRY_MAX_BACKOFF, format(retry.maxBackoff()));
        map.put(KEY_MAX_RETRY_AFTER, format(retry.maxRetryAfter()));
        return map;
    }

    // ---- Validation helpers (messages name the key) ----

    private static void requireNone(List<String> problems) {
        if (!problems.isEmpty()) {
            throw new InvalidGuardConfigException(problems);
        }
    }

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

    // ---- The one parser of the guard's own (the window type); numbers and durations are core's. ----

    static SlidingWindowType parseWindowType(String raw) {
        return switch (raw.toLowerCase(Locale.ROOT)) {
            case "count", "count_based", "count-based" -> SlidingWindowType.COUNT_BASED;
            case "time", "time_based", "time-based" -> SlidingWindowType.TIME_BASED;
            default -> throw new IllegalArgumentException("not a sliding window type (expected count or time)");
        };
    }

    /** An invalid configuration; {@link #problems()} lists each problem, each naming its key. */
    public static final class InvalidGuardConfigException extends IllegalArgumentException {

        private static final long serialVersionUID = 1L;

        private final List<String> problems;

        InvalidGuardConfigException(List<String> problems) {
            super("invalid API guard configuration: " + String.join("; ", problems));
            this.problems = List.copyOf(problems);
        }

        public List<String> problems() {
            return problems;
        }
    }

    /**
     * Builds a configuration one setting at a time, each starting at its default; {@link #build()} validates the
     * three patterns' records together, so every problem is listed at once.
     */
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
            rateLimits(c.rateLimits);
            breaker(c.breaker);
            retry(c.retry);
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

        /** Every rate-limit setting at once. */
        public Builder rateLimits(RateLimits r) {
            qps = r.qps();
            burst = r.burst();
            leaseQps = r.leaseQps();
            leaseBurst = r.leaseBurst();
            maxPermitWait = r.maxPermitWait();
            return this;
        }

        /** Every circuit-breaker setting at once. */
        public Builder breaker(CircuitBreakerSettings b) {
            failureRateThreshold = b.failureRateThreshold();
            slidingWindowType = b.slidingWindowType();
            slidingWindowSize = b.slidingWindowSize();
            minimumCalls = b.minimumCalls();
            waitInOpenState = b.waitInOpenState();
            halfOpenCalls = b.halfOpenCalls();
            slowCallDuration = b.slowCallDuration();
            slowCallRateThreshold = b.slowCallRateThreshold();
            return this;
        }

        /** Every retry setting at once. */
        public Builder retry(RetrySettings r) {
            retryMaxAttempts = r.maxAttempts();
            retryBaseBackoff = r.baseBackoff();
            retryMaxBackoff = r.maxBackoff();
            maxRetryAfter = r.maxRetryAfter();
            return this;
        }

        /** @throws InvalidGuardConfigException listing every invalid value of every pattern */
        public GuardConfig build() {
            List<String> problems = new ArrayList<>();
            RateLimits rateLimits = collect(problems, () -> new RateLimits(qps, burst, leaseQps, leaseBurst, maxPermitWait));
            CircuitBreakerSettings breaker = collect(problems, () -> new CircuitBreakerSettings(failureRateThreshold,
                    slidingWindowType, slidingWindowSize, minimumCalls, waitInOpenState, halfOpenCalls, slowCallDuration,
                    slowCallRateThreshold));
            RetrySettings retry = collect(problems, () -> new RetrySettings(retryMaxAttempts, retryBaseBackoff,
                    retryMaxBackoff, maxRetryAfter));
            requireNone(problems);
            return new GuardConfig(rateLimits, breaker, retry);
        }

        /** The record {@code make} builds, or null with its problems added. */
        private static <T> T collect(List<String> problems, Supplier<T> make) {
            try {
                return make.get();
            } catch (InvalidGuardConfigException e) {
                problems.addAll(e.problems());
                return null;
            }
        }
    }
}
