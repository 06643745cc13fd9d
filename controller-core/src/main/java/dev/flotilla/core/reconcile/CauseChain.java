package dev.flotilla.core.reconcile;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * A failure and its causes, outermost first, each once: what a reconcile loop, a guard or a
 * reconciler looks through to find the hint, fence or interrupt a client wrapped (fabric8 wraps
 * most things in a {@code KubernetesClientException}). Stops at a cause that repeats.
 *
 * <pre>{@code
 * Throwable failure = new RuntimeException("update failed", new java.io.InterruptedIOException());
 * boolean interrupted = CauseChain.of(failure).stream().anyMatch(t -> t instanceof java.io.InterruptedIOException);
 * }</pre>
 */
public final class CauseChain {

    private CauseChain() {
    }

    /** {@code failure}, its cause, that one's cause...; empty for null. */
    public static List<Throwable> of(Throwable failure) {
        List<Throwable> chain = new ArrayList<>();
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable t = failure; t != null && seen.add(t); t = t.getCause()) {
            chain.add(t);
        }
        return chain;
    }
}
