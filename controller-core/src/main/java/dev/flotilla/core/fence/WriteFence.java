package dev.flotilla.core.fence;

/**
 * Decides, right before a write is sent (after any rate-limit wait, after each retry backoff),
 * whether this replica may still send it. Sharding's fence admits a namespaced write only while
 * this replica holds the namespace's shard with time to spare before its renew deadline, and a
 * cluster-scoped write only while it is the coordinator; the request guard asks it for every
 * write attempt (Lease requests are not writes here: they are how shards are held).
 *
 * <p>{@code strike} is for a fence that loses the target's shard while the admitted attempt is
 * not done: an attempt not yet handed to the HTTP client is not sent; one already handed over
 * fails at once for its caller as fenced and the client is asked to drop it (the server may
 * still apply a request already on the wire). A graceful handover strikes nothing: it waits
 * for every admitted attempt of a shard to be done (answered or failed) before it releases it.
 *
 * <pre>{@code
 * WriteFence onlyShop = (target, strike) -> target.namespace().equals("shop")
 *         ? Admission.admitted()
 *         : new Admission.Refused(target + ": not this replica's namespace");
 * }</pre>
 */
@FunctionalInterface
public interface WriteFence {

    /** Admits every write: a replica that does not share its work. */
    WriteFence OPEN = (target, strike) -> Admission.admitted();

    /**
     * @param target what the write changes
     * @param strike what the fence runs if it closes while the admitted attempt is not done
     */
    Admission admit(WriteTarget target, Runnable strike);
}
