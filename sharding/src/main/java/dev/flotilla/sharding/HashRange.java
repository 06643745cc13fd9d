package dev.flotilla.sharding;

import io.fabric8.kubernetes.client.dsl.base.ShardField;
import io.fabric8.kubernetes.client.dsl.base.ShardRange;
import java.math.BigInteger;
import java.util.Objects;

/**
 * An inclusive range {@code [first, last]} of namespace hashes ({@link ShardSpace#hash}), both
 * read as UNSIGNED 64-bit values. Inclusive ends let one value name the whole space
 * ({@code [0, 2^64-1]}), which an exclusive end cannot in a {@code long}; {@link #start()} and
 * {@link #end()} give the API server's {@code [start, end)} form, where {@code end} may be 2^64.
 *
 * <p>The text form, for a Lease annotation, is two 16-digit lower-case hex numbers joined by a
 * dash: {@code 0000000000000000-7fffffffffffffff}.
 *
 * <pre>{@code
 * HashRange range = HashRange.parse("8000000000000000-ffffffffffffffff");
 * boolean mine = range.contains(ShardSpace.hash("shop"));
 * var selector = io.fabric8.kubernetes.client.dsl.base.ShardSelector.of(range.shardRange()); // a sharded LIST/WATCH
 * String annotation = range.text();                                 // "8000000000000000-ffffffffffffffff"
 * }</pre>
 *
 * @param first the lowest hash in the range (unsigned)
 * @param last  the highest hash in the range (unsigned), not below {@code first}
 */
public record HashRange(long first, long last) {

    private static final BigInteger TWO_TO_64 = BigInteger.ONE.shiftLeft(64);
    private static final int HEX_DIGITS = 16;
    private static final int TEXT_LENGTH = 2 * HEX_DIGITS + 1;

    public HashRange {
        if (Long.compareUnsigned(first, last) > 0) {
            throw new IllegalArgumentException("hash range first " + hex(first) + " is above last " + hex(last));
        }
    }

    /** Every hash: {@code [0, 2^64-1]}. */
    public static HashRange all() {
        return new HashRange(0L, -1L);
    }

    /**
     * The range {@code [start, end)} as the API server writes it.
     *
     * @param start first hash, 0..2^64-1
     * @param end   exclusive end, start+1..2^64
     */
    public static HashRange ofExclusive(BigInteger start, BigInteger end) {
        Objects.requireNonNull(start, "start");
        Objects.requireNonNull(end, "end");
        if (start.signum() < 0 || start.compareTo(end) >= 0 || end.compareTo(TWO_TO_64) > 0) {
            throw new IllegalArgumentException("[" + start + ", " + end + ") is not a non-empty range within [0, 2^64)");
        }
        return new HashRange(start.longValue(), end.subtract(BigInteger.ONE).longValue());
    }

    /** Equal-width slot {@code slot} of {@code space}: {@code [space.start(slot), space.end(slot))}. */
    public static HashRange of(ShardSpace space, int slot) {
        return ofExclusive(space.start(slot), space.end(slot));
    }

    /** Whether this range and {@code other} share a hash. */
    public boolean overlaps(HashRange other) {
        return Long.compareUnsigned(first, other.last) <= 0 && Long.compareUnsigned(other.first, last) <= 0;
    }

    /** Whether {@code hash} (unsigned) lies in this range. */
    public boolean contains(long hash) {
        return Long.compareUnsigned(first, hash) <= 0 && Long.compareUnsigned(hash, last) <= 0;
    }

    /** The first hash as the API server's inclusive start (0..2^64-1). */
    public BigInteger start() {
        return unsigned(first);
    }

    /** The API server's exclusive end: {@code last + 1}, up to 2^64. */
    public BigInteger end() {
        return unsigned(last).add(BigInteger.ONE);
    }

    /** How many hash values the range holds (1..2^64). */
    public BigInteger size() {
        return end().subtract(start());
    }

    /** The server-side shard range over {@code metadata.namespace}, as {@link ShardSpace} builds them. */
    public ShardRange shardRange() {
        return ShardRange.of(ShardField.NAMESPACE, start(), end());
    }

    /** The annotation form, {@code first-last} in 16-digit lower-case hex; {@link #parse} reads it back. */
    public String text() {
        return hex(first) + "-" + hex(last);
    }

    /**
     * Reads {@link #text()}. Strict, because a Lease annotation edited by hand should fail loudly
     * rather than shift a boundary: exactly 16 hex digits, a dash, 16 hex digits, first not above last.
     *
     * @throws IllegalArgumentException naming the text and what is wrong with it
     */
    public static HashRange parse(String text) {
        Objects.requireNonNull(text, "text");
        if (text.length() != TEXT_LENGTH || text.charAt(HEX_DIGITS) != '-') {
            throw new IllegalArgumentException("hash range '" + text + "' is not of the form <16 hex digits>-<16 hex digits>");
        }
        long first = parseHex(text, 0);
        long last = parseHex(text, HEX_DIGITS + 1);
        if (Long.compareUnsigned(first, last) > 0) {
            throw new IllegalArgumentException("hash range '" + text + "' has its first hash above its last");
        }
        return new HashRange(first, last);
    }

    private static long parseHex(String text, int from) {
        long value = 0;
        for (int i = from; i < from + HEX_DIGITS; i++) {
            int digit = Character.digit(text.charAt(i), 16);
            // Character.digit accepts non-ASCII digits; the annotation is ASCII only.
            if (digit < 0 || text.charAt(i) > 'f') {
                throw new IllegalArgumentException("hash range '" + text + "' has a non-hex character '" + text.charAt(i) + "' at position " + i);
            }
            value = (value << 4) | digit;
        }
        return value;
    }

    @Override
    public String toString() {
        return text();
    }

    static BigInteger unsigned(long value) {
        BigInteger v = BigInteger.valueOf(value);
        return value >= 0 ? v : v.add(TWO_TO_64);
    }

    private static String hex(long value) {
        String digits = Long.toHexString(value);
        return "0".repeat(HEX_DIGITS - digits.length()) + digits;
    }
}
