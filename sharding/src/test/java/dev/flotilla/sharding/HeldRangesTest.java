package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HeldRangesTest {

    @Test
    void aNamespaceMapsToTheHeldShardWhoseRangeHoldsItsHashAndToNoneOutsideThem() {
        HeldRanges ranges = new HeldRanges();
        long shop = ShardSpace.hash("shop");
        assertThat(ranges.slotOf("shop")).as("nothing held").isEqualTo(-1);
        ranges.put(7, new HashRange(shop, shop));
        ranges.put(3, new HashRange(0L, shop == 0 ? 0 : shop - 1));
        ranges.put(9, new HashRange(shop + 1, -1L)); // up to 2^64-1, unsigned
        assertThat(ranges.slotOf("shop")).isEqualTo(7);
        assertThat(ranges.contains(7, "shop")).isTrue();
        assertThat(ranges.contains(3, "shop")).isFalse();
        assertThat(ranges.slotOfHash(-1L)).as("the top of the unsigned space").isEqualTo(9);
        assertThat(ranges.slotOfHash(0L)).isEqualTo(3);
        ranges.remove(7);
        assertThat(ranges.slotOf("shop")).as("a gap once shard 7 is let go").isEqualTo(-1);
        ranges.put(3, new HashRange(0L, -1L));
        assertThat(ranges.slotOf("shop")).as("shard 3 now held with the whole space").isEqualTo(3);
        assertThat(ranges.of(9)).contains(new HashRange(shop + 1, -1L));
    }
}
