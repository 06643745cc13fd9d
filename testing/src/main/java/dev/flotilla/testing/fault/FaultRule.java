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
 *         .lasting(Duration.ofSeconds(10))); // default: until removed
 * }</pre>
 *
 * @param identity  the client identity it applies to, or null for every identity
 * @param methods   upper-case HTTP methods it applies to; empty for all
 * @param path      a regular expression the whole request path (without query) must match; null for all
 * @param watch     whether it applies to watch requests, other requests, or both
 * @param times     how many times it may apply; {@link #UNLIMITED} for no limit
 * @param lasting   how long after it is added it stays active; null for no limit
 */
public record FaultRule(Fault fault, String identity, Set<String> methods, Pattern path, WatchMatch watch, int times,
        Duration lasting) {

    public static final int UNLIMITED = -1;

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
    }

    /** The fault for every request (or connection, or watch) of every identity, until removed. */
    public static FaultRule of(Fault fault) {
        return new FaultRule(fault, null, Set.of(), null, WatchMatch.ANY, UNLIMITED, null);
    }

    public FaultRule forIdentity(String id) {
        return new FaultRule(fault, Objects.requireNonNull(id, "identity"), methods, path, watch, times, lasting);
    }

    public FaultRule forAllIdentities() {
        return new FaultRule(fault, null, methods, path, watch, times, lasting);
    }

    public FaultRule forMethods(String... httpMethods) {
        Set<String> set = Arrays.stream(httpMethods).map(m -> m.toUpperCase(Locale.ROOT)).collect(Collectors.toSet());
        return new FaultRule(fault, identity, set, path, watch, times, lasting);
    }

    /** Applies only where the request's whole path (query excluded) matches {@code regex}. */
    public FaultRule forPath(String regex) {
        return new FaultRule(fault, identity, methods, Pattern.compile(regex), watch, times, lasting);
    }

    public FaultRule watchesOnly() {
        return new FaultRule(fault, identity, methods, path, WatchMatch.WATCHES_ONLY, times, lasting);
    }

    public FaultRule nonWatchesOnly() {
        return new FaultRule(fault, identity, methods, path, WatchMatch.NON_WATCHES_ONLY, times, lasting);
    }

    /** Applies at most {@code n} times (requests, connections or ticks), then stops matching. */
    public FaultRule times(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("times must be >= 0: " + n);
        }
        return new FaultRule(fault, identity, methods, path, watch, n, lasting);
    }

    /** Stays active for {@code duration} after it is added, then behaves as removed. */
    public FaultRule lasting(Duration duration) {
        return new FaultRule(fault, identity, methods, path, watch, times, Objects.requireNonNull(duration, "duration"));
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
        WatchMatch effective = fault instanceof Fault.WatchGone || fault instanceof Fault.CutWatchesEvery
                ? WatchMatch.WATCHES_ONLY : watch;
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
        return s.toString();
    }
}
