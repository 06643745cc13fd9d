package dev.flotilla.core.fence;

import java.util.Optional;

/**
 * Implemented by the exception of a write that a {@link WriteFence} refused. A reconcile that fails
 * with one anywhere in its cause chain is counted and logged as fenced, not as an error: the
 * replica lost (or is about to lose) the object's shard, and the shard's next holder does the work.
 *
 * <pre>{@code
 * class Fenced extends RuntimeException implements FencedWrite {
 *     public String fenceReason() { return "shard 7 is not held"; }
 * }
 * }</pre>
 */
public interface FencedWrite {

    /** Why the fence refused the write, in one line. */
    String fenceReason();

    /** The first fenced write in {@code failure}'s cause chain, if any. */
    static Optional<FencedWrite> in(Throwable failure) {
        for (Throwable t : dev.flotilla.core.reconcile.CauseChain.of(failure)) {
            if (t instanceof FencedWrite fenced) {
                return Optional.of(fenced);
            }
            for (Throwable s : t.getSuppressed()) {
                if (s instanceof FencedWrite fenced) {
                    return Optional.of(fenced);
                }
            }
        }
        return Optional.empty();
    }
}
