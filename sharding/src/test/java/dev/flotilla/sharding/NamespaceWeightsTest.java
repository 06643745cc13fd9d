package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class NamespaceWeightsTest {

    @Test
    void namesAreHashedAndSortedUnsigned() {
        NamespaceWeights w = NamespaceWeights.ofNamespaces(Map.of("shop", 120L, "billing", 40L, "empty", 0L));
        assertThat(w.size()).isEqualTo(3);
        assertThat(w.total()).isEqualTo(160);
        assertThat(w.largest()).isEqualTo(120);
        for (int i = 1; i < w.size(); i++) {
            assertThat(Long.compareUnsigned(w.hash(i - 1), w.hash(i))).isNegative();
        }
        assertThat(w.weightIn(HashRange.all())).isEqualTo(160);
        long shop = ShardSpace.hash("shop");
        assertThat(w.weightIn(new HashRange(shop, shop))).isEqualTo(120);
        assertThat(NamespaceWeights.none().total()).isZero();
        assertThat(NamespaceWeights.none().weightIn(HashRange.all())).isZero();
    }

    @Test
    void weightInAgreesWithAScanOnRandomRanges() {
        Random rnd = new Random(11);
        Map<Long, Long> byHash = new HashMap<>();
        byHash.put(0L, 3L);
        byHash.put(-1L, 4L);
        byHash.put(Long.MIN_VALUE, 5L);
        byHash.put(Long.MAX_VALUE, 6L);
        for (int i = 0; i < 500; i++) {
            byHash.put(rnd.nextLong(), (long) rnd.nextInt(50));
        }
        NamespaceWeights w = NamespaceWeights.ofHashes(byHash);
        for (int i = 0; i < 2000; i++) {
            long a = rnd.nextInt(4) == 0 ? byHash.keySet().stream().skip(rnd.nextInt(byHash.size())).findFirst().orElseThrow() : rnd.nextLong();
            long b = rnd.nextLong();
            HashRange r = Long.compareUnsigned(a, b) <= 0 ? new HashRange(a, b) : new HashRange(b, a);
            long expected = byHash.entrySet().stream().filter(e -> r.contains(e.getKey())).mapToLong(Map.Entry::getValue).sum();
            assertThat(w.weightIn(r)).as("range %s", r).isEqualTo(expected);
        }
    }

    @Test
    void badWeightsAreRefused() {
        assertThatThrownBy(() -> NamespaceWeights.ofNamespaces(Map.of("shop", -1L)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("weight of namespace 'shop' is negative: -1");
        assertThatThrownBy(() -> NamespaceWeights.ofHashes(Map.of(1L, Long.MAX_VALUE, 2L, 1L)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("add up past");
        Map<String, Long> withNull = new HashMap<>();
        withNull.put("shop", null);
        assertThatThrownBy(() -> NamespaceWeights.ofNamespaces(withNull)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void equalContentIsEqual() {
        NamespaceWeights a = NamespaceWeights.ofNamespaces(Map.of("x", 1L, "y", 2L));
        NamespaceWeights b = NamespaceWeights.ofHashes(Map.of(ShardSpace.hash("y"), 2L, ShardSpace.hash("x"), 1L));
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
        assertThat(a).isNotEqualTo(NamespaceWeights.ofNamespaces(Map.of("x", 1L, "y", 3L)));
    }

    @Test
    void theAnnotationTextRoundTripsAndCoarsensBeyondItsEntryLimitWithoutLosingObjects() {
        Map<String, Long> objects = new HashMap<>();
        for (int i = 0; i < 100; i++) {
            objects.put("ns-" + i, (long) i % 7);
        }
        NamespaceWeights w = NamespaceWeights.ofNamespaces(objects);
        String text = w.text(NamespaceWeights.MAX_TEXT_ENTRIES);
        assertThat(text).matches("([0-9a-f]{16}=[1-9][0-9]*)(,[0-9a-f]{16}=[1-9][0-9]*)*");
        NamespaceWeights back = NamespaceWeights.parse(text);
        assertThat(back.total()).isEqualTo(w.total());
        assertThat(back.weightIn(new HashRange(0L, Long.MAX_VALUE))).isEqualTo(w.weightIn(new HashRange(0L, Long.MAX_VALUE)));
        NamespaceWeights coarse = NamespaceWeights.parse(w.text(10));
        assertThat(coarse.size()).isLessThanOrEqualTo(10);
        assertThat(coarse.total()).as("runs summed, nothing dropped").isEqualTo(w.total());
        assertThat(NamespaceWeights.parse("")).isEqualTo(NamespaceWeights.none());
        assertThat(NamespaceWeights.sum(java.util.List.of(w, back)).total()).isEqualTo(2 * w.total());
    }

    @Test
    void anUnreadableReportNamesTheEntryThatIsWrong() {
        assertThatThrownBy(() -> NamespaceWeights.parse("00000000000000aa=3,zz")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("object counts entry 2 'zz' is not <16 hex digits>=<count>");
        assertThatThrownBy(() -> NamespaceWeights.parse("00000000000000aa=-3"))
                .hasMessageContaining("is negative");
        assertThatThrownBy(() -> NamespaceWeights.parse("00000000000000aa=3,00000000000000aa=4"))
                .hasMessage("object counts name hash 00000000000000aa twice");
        assertThatThrownBy(() -> NamespaceWeights.parse("0000000000000g0a=3"))
                .hasMessageContaining("is not <16 hex digits>=<count>");
    }
}
