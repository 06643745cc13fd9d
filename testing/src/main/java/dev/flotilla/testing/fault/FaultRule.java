package dev.flotilla.testing.fault;

import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A fault and which traffic it applies to; immutable, built with withers and handed to
 * {@link FaultProxy#add(FaultRule)}, which returns the live {@link ActiveRule}.
 *
 * <pre>{@code
 * proxy.add(FaultRule.of(Fault.serviceUnavailable("2"))
 *         .forIdentity("replica-a")        // default: every identity
 *         .forMethods("GET")               // default: every method
 *         .forPath("/api/v1/namespaces/[^/]+/configmaps") // regex over the whole path, no query
 *         .nonWatchesOnly()                // or watchesOnly(); default: both
 *         .times(3)                        // default: unlimited
 *         .lasting(Duration.ofSeconds(10)) // default: until removed
 *         .withProbability(30)             // default: 100, every matched request
 *         .withSeed(7));                   // default: DEFAULT_SEED
 * }</pre>
 *
 * @param identity  the client identity it applies to, or null for every identity
 * @param methods   upper-case HTTP methods it applies to; empty for all
 * @param path      a regular expression the whole request path (without query) must match; null for all
 * @param watch     whether it applies to watch requests, other requests, or both
 * @param times     how many times it may apply; {@link #UNLIMITED} for no limit
 * @param lasting   how long after it is added it stays active; null for no limit
 * @param probabilityPercent the share of matched requests (connections, watch-cutting ticks) it applies to, 0-100;
 *                  each is drawn from the rule's seeded generator, and one not drawn does not count against
 *                  {@code times}
 * @param seed      seeds the rule's random generators (the probability draw, and the fault's own draws: jitter,
 *                  loss, duplication), so that the same requests in the same order meet the same faults
 */
public record FaultRule(Fault fault, String identity, Set<String> methods, Pattern path, WatchMatch watch, int times,
        Duration lasting, int probabilityPercent, long seed) {

    public static final int UNLIMITED = -1;
    /** The seed of a rule that was given none: fixed, so runs are reproducible by default. */
    public static final long DEFAULT_SEED = 0x5EED_F10DL;

    /** Which requests a rule applies to by whether they are watches. */
    public enum WatchMatch {
        ANY, WATCHES_ONLY, NON_WATCHES_ONLY
    }

    public FaultRule {
        Objects.requireNonNull(fault, "fault");
        methods = Set.copyOf(methods);
        Objects.requireNonNull(watch, "watch");
        if (times < 0 && times != UNLIMITED) {
            throw new IllegalArgumentException("times must be >= 0 or UNLIMITED: " + times);
        }
        if (lasting != null && (lasting.isNegative() || lasting.isZero())) {
            throw new IllegalArgumentException("lasting must be positive: " + lasting);
        }
        if (probabilityPercent < 0 || probabilityPercent > 100) {
            throw new IllegalArgumentException("probabilityPercent must be 0-100: " + probabilityPercent);
        }
    }

    /** A rule for every matched request, with the default seed. */
    public FaultRule(Fault fault, String identity, Set<String> methods, Pattern path, WatchMatch watch, int times,
            Duration lasting) {
        this(fault, identity, methods, path, watch, times, lasting, 100, DEFAULT_SEED);
    }

    /** The fault for every request (or connection, or watch) of every identity, until removed. */
    public static FaultRule of(Fault fault) {
        return new FaultRule(fault, null, Set.of(), null, WatchMatch.ANY, UNLIMITED, null, 100, DEFAULT_SEED);
    }

    public FaultRule forIdentity(String id) {
        return new FaultRule(fault, Objects.requireNonNull(id, "identity"), methods, path, watch, times, lasting, probabilityPercent, seed);
    }

    public FaultRule forAllIdentities() {
        return new FaultRule(fault, null, methods, path, watch, times, lasting, probabilityPercent, seed);
    }

    public FaultRule forMethods(String... httpMethods) {
        Set<String> set = Arrays.stream(httpMethods).map(m -> m.toUpperCase(Locale.ROOT)).collect(Collectors.toSet());
        return new FaultRule(fault, identity, set, path, watch, times, lasting, probabilityPercent, seed);
    }

    /** Applies only where the request's whole path (query excluded) matches {@code regex}. */
    public FaultRule forPath(String regex) {
        return new FaultRule(fault, identity, methods, Pattern.compile(regex), watch, times, lasting, probabilityPercent, seed);
    }

    public FaultRule watchesOnly() {
        return new FaultRule(fault, identity, methods, path, WatchMatch.WATCHES_ONLY, times, lasting, probabilityPercent, seed);
    }

    public FaultRule nonWatchesOnly() {
        return new FaultRule(fault, identity, methods, path, WatchMatch.NON_WATCHES_ONLY, times, lasting, probabilityPercent, seed);
    }

    /** Applies at most {@code n} times (requests, connections or ticks), then stops matching. */
    public FaultRule times(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("times must be >= 0: " + n);
        }
        return new FaultRule(fault, identity, methods, path, watch, n, lasting, probabilityPercent, seed);
    }

    /** Stays active for {@code duration} after it is added, then behaves as removed. */
    public FaultRule lasting(Duration duration) {
        return new FaultRule(fault, identity, methods, path, watch, times, Objects.requireNonNull(duration, "duration"),
                probabilityPercent, seed);
    }

    /**
     * Applies to {@code percent} percent of the requests (connections, ticks) it matches, drawn from its seeded
     * generator; 100 (the default) for all of them.
     */
    public FaultRule withProbability(int percent) {
        return new FaultRule(fault, identity, methods, path, watch, times, lasting, percent, seed);
    }

    /** Seeds the rule's random draws (probability, jitter, loss, duplication); default {@link #DEFAULT_SEED}. */
    public FaultRule withSeed(long newSeed) {
        return new FaultRule(fault, identity, methods, path, watch, times, lasting, probabilityPercent, newSeed);
    }

    boolean matchesIdentity(String candidate) {
        return identity == null || identity.equals(candidate);
    }

    /** Whether a request with these properties is covered (limits aside). */
    boolean matches(String requestIdentity, String method, String requestPath, boolean isWatch) {
        if (!matchesIdentity(requestIdentity)) {
            return false;
        }
        if (!methods.isEmpty() && !methods.contains(method)) {
            return false;
        }
        if (path != null && !path.matcher(requestPath).matches()) {
            return false;
        }
        if (fault instanceof Fault.Duplicate && !method.equals("GET") && !method.equals("HEAD")) {
            return false; // only safe requests are duplicated
        }
        WatchMatch effective = switch (fault) {
            case Fault.WatchGone g -> WatchMatch.WATCHES_ONLY;
            case Fault.CutWatchesEvery c -> WatchMatch.WATCHES_ONLY;
            case Fault.ReplaceResponse r -> WatchMatch.NON_WATCHES_ONLY;
            case Fault.Duplicate d -> WatchMatch.NON_WATCHES_ONLY;
            default -> watch;
        };
        return switch (effective) {
            case ANY -> true;
            case WATCHES_ONLY -> isWatch;
            case NON_WATCHES_ONLY -> !isWatch;
        };
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(fault.describe());
        s.append(" for ").append(identity == null ? "every identity" : identity);
        if (!methods.isEmpty()) {
            s.append(" methods=").append(methods);
        }
        if (path != null) {
            s.append(" path=").append(path.pattern());
        }
        if (watch != WatchMatch.ANY) {
            s.append(' ').append(watch.name().toLowerCase(Locale.ROOT));
        }
        if (times != UNLIMITED) {
            s.append(" times=").append(times);
        }
        if (lasting != null) {
            s.append(" lasting=").append(lasting);
        }
        if (probabilityPercent != 100) {
            s.append(" probability=").append(probabilityPercent).append('%');
        }
        if (seed != DEFAULT_SEED) {
            s.append(" seed=").append(seed);
        }
        return s.toString();
    }
}
