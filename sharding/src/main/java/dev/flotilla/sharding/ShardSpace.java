package dev.flotilla.sharding;

import io.fabric8.kubernetes.client.dsl.base.ShardField;
import io.fabric8.kubernetes.client.dsl.base.ShardRange;
import io.fabric8.kubernetes.client.dsl.base.ShardSelector;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The namespace keyspace cut into equal virtual shards. A namespace's hash is 64-bit FNV-1a over
 * its UTF-8 bytes, the function the API server applies for
 * {@code shardSelector=shardRange(object.metadata.namespace, ...)}, so a shard's range asks the
 * server for exactly the namespaces this class assigns to it.
 *
 * <p>Shard {@code i} of {@code S} holds hashes in {@code [ceil(i*2^64/S), ceil((i+1)*2^64/S))}: the
 * same as {@code floor(hash*S/2^64) == i}, which {@link #shardOf} computes without allocation.
 *
 * <pre>{@code
 * ShardSpace space = new ShardSpace(32);
 * int shard = space.shardOf("shop");               // 0..31
 * ShardSelector selector = space.selector(shard);  // for a server-side sharded LIST/WATCH
 * }</pre>
 */
public record ShardSpace(int shards) {

    public static final int DEFAULT_SHARDS = 32;
    /** Each shard is a Lease and possibly an informer per resource type; more would not pay off. */
    public static final int MAX_SHARDS = 4096;

    private static final BigInteger TWO_TO_64 = BigInteger.ONE.shiftLeft(64);
    private static final long FNV_OFFSET_BASIS = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    public ShardSpace {
        if (shards < 1 || shards > MAX_SHARDS) {
            throw new IllegalArgumentException("shard count must be between 1 and " + MAX_SHARDS + ", got " + shards);
        }
    }

    /** 64-bit FNV-1a of {@code namespace}'s UTF-8 bytes (as an unsigned value in a long). */
    public static long hash(String namespace) {
        long hash = FNV_OFFSET_BASIS;
        for (byte b : namespace.getBytes(StandardCharsets.UTF_8)) {
            hash ^= (b & 0xff);
            hash *= FNV_PRIME;
        }
        return hash;
    }

    /** The shard of {@code namespace}; cluster-scoped objects (namespace "") land in the shard of "". */
    public int shardOf(String namespace) {
        return (int) Math.unsignedMultiplyHigh(hash(namespace), shards);
    }

    /** First hash of {@code shard}, inclusive. */
    public BigInteger start(int shard) {
        checkShard(shard);
        return boundary(shard);
    }

    /** End of {@code shard}'s hashes, exclusive (2^64 for the last shard). */
    public BigInteger end(int shard) {
        checkShard(shard);
        return boundary(shard + 1);
    }

    private BigInteger boundary(int i) {
        // ceil(i * 2^64 / S)
        BigInteger[] qr = TWO_TO_64.multiply(BigInteger.valueOf(i)).divideAndRemainder(BigInteger.valueOf(shards));
        return qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE);
    }

    /** The server-side selector for one shard. */
    public ShardSelector selector(int shard) {
        return ShardSelector.of(range(shard));
    }

    /** The server-side selector for several shards (ranges joined with ||), e.g. all a replica holds. */
    public ShardSelector selector(List<Integer> shardsHeld) {
        if (shardsHeld.isEmpty()) {
            throw new IllegalArgumentException("a shard selector needs at least one shard");
        }
        List<ShardRange> ranges = new ArrayList<>();
        for (int shard : shardsHeld) {
            ranges.add(range(shard));
        }
        return new ShardSelector(ranges);
    }

    private ShardRange range(int shard) {
        return ShardRange.of(ShardField.NAMESPACE, start(shard), end(shard));
    }

    private void checkShard(int shard) {
        if (shard < 0 || shard >= shards) {
            throw new IllegalArgumentException("shard " + shard + " is outside 0.." + (shards - 1));
        }
    }
}
