package dev.flotilla.core.fence;

/**
 * Decides, right before a write is sent (after any rate-limit wait, after each retry backoff),
 * whether this replica may still send it. Sharding's fence admits a namespaced write only while
 * this replica holds the namespace's shard with time to spare before its renew deadline, and a
 * cluster-scoped write only while it is the coordinator; the request guard asks it for every
 * write attempt (Lease requests are not writes here: they are how shards are held).
 *
 * <p>{@code cancel} stops the admitted attempt: the fence calls it when it loses the target's
 * shard while the attempt is still in flight, and a graceful handover waits for every admitted
 * attempt of a shard to be done before it releases the shard.
 *
 * <pre>{@code
 * WriteFence onlyShop = (target, cancel) -> target.namespace().equals("shop")
 *         ? Admission.admitted()
 *         : new Admission.Refused(target + ": not this replica's namespace");
 * }</pre>
 */
@FunctionalInterface
public interface WriteFence {

    /** Admits every write: a replica that does not share its work. */
    WriteFence OPEN = (target, cancel) -> Admission.admitted();

    /**
     * @param target what the write changes
     * @param cancel stops the attempt if it is admitted and still in flight when the fence closes
     */
    Admission admit(WriteTarget target, Runnable cancel);
}
