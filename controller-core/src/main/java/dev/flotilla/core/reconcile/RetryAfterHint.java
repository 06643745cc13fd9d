package dev.flotilla.core.reconcile;

import java.time.Duration;

/**
 * Implemented by exceptions that know how long a retry is pointless: an open circuit breaker, a
 * server asking to come back later. When a reconcile fails with such an exception anywhere in its
 * cause chain, the key waits at least that long (or its backoff, whichever is longer) instead of
 * failing again at once.
 *
 * <pre>{@code
 * class BreakerOpen extends RuntimeException implements RetryAfterHint {
 *     public Duration retryAfter() { return Duration.ofSeconds(5); }
 * }
 * }</pre>
 */
public interface RetryAfterHint {

    /** How long to wait before trying again; never negative. */
    Duration retryAfter();

    /** The longest hint in {@code failure}'s cause chain, if any. */
    static java.util.Optional<Duration> in(Throwable failure) {
        Duration longest = null;
        for (Throwable t : CauseChain.of(failure)) {
            if (t instanceof RetryAfterHint hint && hint.retryAfter() != null && !hint.retryAfter().isNegative()
                    && (longest == null || hint.retryAfter().compareTo(longest) > 0)) {
                longest = hint.retryAfter();
            }
        }
        return java.util.Optional.ofNullable(longest);
    }
}
