package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.dsl.base.ShardSelector;
import java.math.BigInteger;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HashRangeTest {

    private static final BigInteger TWO_TO_64 = BigInteger.ONE.shiftLeft(64);

    @Test
    void boundsAreUnsigned() {
        HashRange upper = new HashRange(0x8000000000000000L, -1L);
        assertThat(upper.contains(-1L)).isTrue();
        assertThat(upper.contains(0x8000000000000000L)).isTrue();
        assertThat(upper.contains(Long.MAX_VALUE)).isFalse();
        assertThat(upper.contains(0L)).isFalse();
        HashRange lower = new HashRange(0L, Long.MAX_VALUE);
        assertThat(lower.contains(Long.MAX_VALUE)).isTrue();
        assertThat(lower.contains(Long.MIN_VALUE)).isFalse();
        assertThatThrownBy(() -> new HashRange(-1L, 0L))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("hash range first ffffffffffffffff is above last 0000000000000000");
        assertThat(new HashRange(5L, 5L).size()).isEqualTo(BigInteger.ONE);
    }

    @Test
    void theApiServersExclusiveEndReaches2To64() {
        HashRange all = HashRange.all();
        assertThat(all.start()).isEqualTo(BigInteger.ZERO);
        assertThat(all.end()).isEqualTo(TWO_TO_64);
        assertThat(all.size()).isEqualTo(TWO_TO_64);
        for (long h : new long[] {0L, 1L, Long.MAX_VALUE, Long.MIN_VALUE, -1L}) {
            assertThat(all.contains(h)).isTrue();
        }
        assertThat(HashRange.ofExclusive(BigInteger.ZERO, TWO_TO_64)).isEqualTo(all);
        assertThatThrownBy(() -> HashRange.ofExclusive(BigInteger.TEN, BigInteger.TEN)).hasMessageContaining("[10, 10)");
        assertThatThrownBy(() -> HashRange.ofExclusive(BigInteger.ZERO, TWO_TO_64.add(BigInteger.ONE)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void selectorsMatchShardSpacesForTheSameRange() {
        ShardSpace space = new ShardSpace(2);
        HashRange second = HashRange.ofExclusive(space.start(1), space.end(1));
        assertThat(ShardSelector.of(second.shardRange()).toExpression()).isEqualTo(space.selector(1).toExpression());
    }

    @Test
    void textRoundTripsOnRandomAndEdgeRanges() {
        assertThat(HashRange.all().text()).isEqualTo("0000000000000000-ffffffffffffffff");
        assertThat(HashRange.parse("0000000000000000-ffffffffffffffff")).isEqualTo(HashRange.all());
        assertThat(HashRange.parse("00000000000000AB-00000000000000ff")).isEqualTo(new HashRange(0xab, 0xff));
        Random rnd = new Random(7);
        for (int i = 0; i < 10_000; i++) {
            long a = rnd.nextLong();
            long b = rnd.nextLong();
            HashRange r = Long.compareUnsigned(a, b) <= 0 ? new HashRange(a, b) : new HashRange(b, a);
            assertThat(HashRange.parse(r.text())).isEqualTo(r);
            assertThat(r.toString()).isEqualTo(r.text());
            assertThat(HashRange.ofExclusive(r.start(), r.end())).isEqualTo(r);
        }
    }

    @Test
    void badTextIsRefusedNamingTheText() {
        assertThatThrownBy(() -> HashRange.parse(""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("hash range '' is not of the form <16 hex digits>-<16 hex digits>");
        assertThatThrownBy(() -> HashRange.parse("0-ffffffffffffffff")).hasMessageContaining("'0-ffffffffffffffff'");
        assertThatThrownBy(() -> HashRange.parse("0000000000000000+ffffffffffffffff")).hasMessageContaining("not of the form");
        assertThatThrownBy(() -> HashRange.parse("000000000000000g-ffffffffffffffff"))
                .hasMessage("hash range '000000000000000g-ffffffffffffffff' has a non-hex character 'g' at position 15");
        assertThatThrownBy(() -> HashRange.parse("0000000000000000-fffffffffffffff\u0663"))
                .hasMessageContaining("non-hex character");
        assertThatThrownBy(() -> HashRange.parse("ffffffffffffffff-0000000000000000"))
                .hasMessage("hash range 'ffffffffffffffff-0000000000000000' has its first hash above its last");
        assertThatThrownBy(() -> HashRange.parse(" 0000000000000000-ffffffffffffffff")).hasMessageContaining("not of the form");
    }
}
