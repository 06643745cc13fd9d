package dev.flotilla.sharding;

import java.util.Arrays;
import java.util.Optional;

/**
 * The hash range of each shard this replica holds, as its Lease had it when this replica took it
 * (a held shard's range never changes: the coordinator re-ranges only free Leases). What the key
 * gate, the write fence, the informers and the drains ask to map a namespace to a shard.
 * Written on the replica's lane, read from any thread: every change publishes a new sorted array.
 */
final class HeldRanges {

    /** One held shard's range; {@code first}/{@code last} unsigned. */
    private record Entry(int slot, HashRange range) {
    }

    private static final Entry[] NONE = new Entry[0];

    /** Sorted by unsigned first hash. */
    private volatile Entry[] entries = NONE;

    /** Records that {@code slot} is held with {@code range} (replacing what it had). */
    synchronized void put(int slot, HashRange range) {
        Entry[] next = Arrays.stream(entries).filter(e -> e.slot() != slot).toArray(n -> new Entry[n + 1]);
        next[next.length - 1] = new Entry(slot, range);
        Arrays.sort(next, (a, b) -> Long.compareUnsigned(a.range().first(), b.range().first()));
        entries = next;
    }

    /** Forgets {@code slot}. */
    synchronized void remove(int slot) {
        entries = Arrays.stream(entries).filter(e -> e.slot() != slot).toArray(Entry[]::new);
    }

    /** The range {@code slot} is held with, if it is. */
    Optional<HashRange> of(int slot) {
        for (Entry e : entries) {
            if (e.slot() == slot) {
                return Optional.of(e.range());
            }
        }
        return Optional.empty();
    }

    /** The held shard whose range holds {@code namespace}'s hash, or -1. */
    int slotOf(String namespace) {
        return slotOfHash(ShardSpace.hash(namespace));
    }

    int slotOfHash(long hash) {
        Entry[] now = entries;
        int lo = 0;
        int hi = now.length - 1;
        int found = -1;
        while (lo <= hi) { // the last entry whose first hash is <= hash
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(now[mid].range().first(), hash) <= 0) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found >= 0 && now[found].range().contains(hash) ? now[found].slot() : -1;
    }

    /** Whether {@code namespace} lies in {@code slot}'s held range. */
    boolean contains(int slot, String namespace) {
        return of(slot).map(r -> r.contains(ShardSpace.hash(namespace))).orElse(false);
    }
}
