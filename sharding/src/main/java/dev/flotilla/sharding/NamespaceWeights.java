package dev.flotilla.sharding;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * How many objects live at each namespace hash: the load {@link RangePlanner} balances. A
 * namespace is the indivisible unit (every object of it has the namespace's hash), so the
 * weights are kept per hash, sorted by unsigned hash, and two names that happen to share a hash
 * are one unit whose weight is their sum.
 *
 * <p>Immutable; {@link #weightIn} is a binary search over prefix sums.
 *
 * <pre>{@code
 * NamespaceWeights weights = NamespaceWeights.ofNamespaces(Map.of("shop", 120L, "billing", 40L));
 * long all = weights.total();                                // 160
 * long low = weights.weightIn(new HashRange(0L, Long.MAX_VALUE));
 * }</pre>
 */
public final class NamespaceWeights {

    private static final NamespaceWeights NONE = new NamespaceWeights(new long[0], new long[0]);

    /** Hashes, strictly increasing as unsigned values. */
    private final long[] hashes;
    private final long[] weights;
    /** prefix[i] = sum of weights[0..i). */
    private final long[] prefix;

    private NamespaceWeights(long[] hashes, long[] weights) {
        this.hashes = hashes;
        this.weights = weights;
        this.prefix = new long[hashes.length + 1];
        for (int i = 0; i < weights.length; i++) {
            prefix[i + 1] = prefix[i] + weights[i];
        }
    }

    /** No namespaces known: a cold start. */
    public static NamespaceWeights none() {
        return NONE;
    }

    /**
     * From object counts per namespace name, each hashed with {@link ShardSpace#hash}.
     *
     * @throws IllegalArgumentException on a negative count, or when the counts add up past {@code Long.MAX_VALUE}
     */
    public static NamespaceWeights ofNamespaces(Map<String, Long> objectsByNamespace) {
        Objects.requireNonNull(objectsByNamespace, "objectsByNamespace");
        TreeMap<Long, Long> byHash = new TreeMap<>(Long::compareUnsigned);
        objectsByNamespace.forEach((namespace, count) -> {
            Objects.requireNonNull(namespace, "namespace");
            checkWeight(count, "namespace '" + namespace + "'");
            byHash.merge(ShardSpace.hash(namespace), count, NamespaceWeights::add);
        });
        return build(byHash);
    }

    /**
     * From weights per namespace hash (unsigned values in a long).
     *
     * @throws IllegalArgumentException on a negative weight, or when the weights add up past {@code Long.MAX_VALUE}
     */
    public static NamespaceWeights ofHashes(Map<Long, Long> weightByHash) {
        Objects.requireNonNull(weightByHash, "weightByHash");
        TreeMap<Long, Long> byHash = new TreeMap<>(Long::compareUnsigned);
        weightByHash.forEach((hash, weight) -> {
            Objects.requireNonNull(hash, "hash");
            checkWeight(weight, "hash " + Long.toHexString(hash));
            byHash.put(hash, weight);
        });
        return build(byHash);
    }

    private static NamespaceWeights build(TreeMap<Long, Long> byHash) {
        long[] h = new long[byHash.size()];
        long[] w = new long[byHash.size()];
        int i = 0;
        long total = 0;
        for (Map.Entry<Long, Long> e : byHash.entrySet()) {
            h[i] = e.getKey();
            w[i] = e.getValue();
            total = add(total, w[i]);
            i++;
        }
        return new NamespaceWeights(h, w);
    }

    private static void checkWeight(Long weight, String of) {
        Objects.requireNonNull(weight, () -> "weight of " + of);
        if (weight < 0) {
            throw new IllegalArgumentException("weight of " + of + " is negative: " + weight);
        }
    }

    private static long add(long a, long b) {
        try {
            return Math.addExact(a, b);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("namespace weights add up past " + Long.MAX_VALUE, e);
        }
    }

    /** The most entries {@link #text} writes by default: with 16-digit hashes, well inside an annotation's room (256 KiB for all). */
    public static final int MAX_TEXT_ENTRIES = 8_000;

    /**
     * This as an annotation value: {@code hash=weight} pairs, the hash in 16 lower-case hex digits,
     * the weight in decimal, comma-separated, in hash order; zero weights left out. With more than
     * {@code maxEntries} hashes, runs of neighbours are summed onto the first of each run: the
     * planner then sees fewer, heavier units (coarser balance, never a wrong partition).
     */
    public String text(int maxEntries) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries must be >= 1, got " + maxEntries);
        }
        int per = (hashes.length + maxEntries - 1) / maxEntries;
        StringBuilder out = new StringBuilder(hashes.length / Math.max(1, per) * 24);
        for (int i = 0; i < hashes.length; i += Math.max(1, per)) {
            int end = Math.min(hashes.length, i + Math.max(1, per));
            long w = prefix[end] - prefix[i];
            if (w == 0) {
                continue;
            }
            if (!out.isEmpty()) {
                out.append(',');
            }
            String hex = Long.toHexString(hashes[i]);
            out.append("0".repeat(16 - hex.length())).append(hex).append('=').append(w);
        }
        return out.toString();
    }

    /**
     * Reads {@link #text}; "" is {@link #none()}.
     *
     * @throws IllegalArgumentException naming the entry that is not {@code <16 hex digits>=<count>}, or a hash given twice
     */
    public static NamespaceWeights parse(String text) {
        Objects.requireNonNull(text, "text");
        if (text.isEmpty()) {
            return NONE;
        }
        TreeMap<Long, Long> byHash = new TreeMap<>(Long::compareUnsigned);
        int entry = 0;
        for (String pair : text.split(",", -1)) {
            entry++;
            int eq = pair.indexOf('=');
            if (eq != 16) {
                throw new IllegalArgumentException("object counts entry " + entry + " '" + abbreviate(pair)
                        + "' is not <16 hex digits>=<count>");
            }
            long hash;
            long weight;
            try {
                hash = Long.parseUnsignedLong(pair, 0, 16, 16);
                weight = Long.parseLong(pair, 17, pair.length(), 10);
            } catch (NumberFormatException | IndexOutOfBoundsException e) {
                throw new IllegalArgumentException("object counts entry " + entry + " '" + abbreviate(pair)
                        + "' is not <16 hex digits>=<count>");
            }
            checkWeight(weight, "hash " + pair.substring(0, 16));
            if (byHash.put(hash, weight) != null) {
                throw new IllegalArgumentException("object counts name hash " + pair.substring(0, 16) + " twice");
            }
        }
        return build(byHash);
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    /** The weights of all {@code parts} together (a hash in two parts: their sum). */
    public static NamespaceWeights sum(java.util.Collection<NamespaceWeights> parts) {
        TreeMap<Long, Long> byHash = new TreeMap<>(Long::compareUnsigned);
        for (NamespaceWeights part : parts) {
            for (int i = 0; i < part.hashes.length; i++) {
                byHash.merge(part.hashes[i], part.weights[i], NamespaceWeights::add);
            }
        }
        return build(byHash);
    }

    /** Sum of all weights. */
    public long total() {
        return prefix[prefix.length - 1];
    }

    /** The heaviest single namespace hash's weight (0 when none). */
    public long largest() {
        long max = 0;
        for (long w : weights) {
            max = Math.max(max, w);
        }
        return max;
    }

    /** Number of distinct namespace hashes, including those of weight 0. */
    public int size() {
        return hashes.length;
    }

    /** The {@code i}-th hash in unsigned order. */
    public long hash(int i) {
        return hashes[i];
    }

    /** The weight of the {@code i}-th hash in unsigned order. */
    public long weight(int i) {
        return weights[i];
    }

    /** Sum of the weights whose hash lies in {@code range}. */
    public long weightIn(HashRange range) {
        return prefix[upperBound(range.last())] - prefix[lowerBound(range.first())];
    }

    /** Index of the first hash not below {@code hash} (unsigned); {@link #size()} when none. */
    int lowerBound(long hash) {
        int lo = 0;
        int hi = hashes.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(hashes[mid], hash) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** Index of the first hash above {@code hash} (unsigned); {@link #size()} when none. */
    int upperBound(long hash) {
        int lo = 0;
        int hi = hashes.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(hashes[mid], hash) <= 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NamespaceWeights other && Arrays.equals(hashes, other.hashes) && Arrays.equals(weights, other.weights);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(hashes) + Arrays.hashCode(weights);
    }

    @Override
    public String toString() {
        return "NamespaceWeights[" + hashes.length + " namespaces, total " + total() + "]";
    }
}
