package dev.flotilla.core.ratelimit.planted;

import dev.flotilla.core.queue.RateLimiter;

/** Planted: the token bucket reaching up to the work queue (ArchitectureTest.CORE_PACKAGES must report it). */
public final class UsesTheQueue {
    public RateLimiter<String> limiter() {
        return RateLimiter.controllerDefault();
    }
}
