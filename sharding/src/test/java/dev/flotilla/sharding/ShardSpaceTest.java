package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShardSpaceTest {

    @Test
    void theHashIsFnv1a64() {
        assertThat(ShardSpace.hash("")).isEqualTo(0xcbf29ce484222325L);
        assertThat(ShardSpace.hash("a")).isEqualTo(0xaf63dc4c8601ec8cL);
        assertThat(ShardSpace.hash("foobar")).isEqualTo(0x85944171f73967e8L);
    }

    @Test
    void rangesTileTheKeyspaceAndAgreeWithShardOf() {
        for (int s : List.of(1, 3, 7, 32, 4096)) {
            ShardSpace space = new ShardSpace(s);
            assertThat(space.start(0)).isEqualTo(BigInteger.ZERO);
            assertThat(space.end(s - 1)).isEqualTo(BigInteger.ONE.shiftLeft(64));
            for (int i = 1; i < s; i++) {
                assertThat(space.start(i)).isEqualTo(space.end(i - 1));
            }
            for (int n = 0; n < 2000; n++) {
                String ns = "ns-" + n;
                BigInteger h = new BigInteger(Long.toUnsignedString(ShardSpace.hash(ns)));
                int shard = space.shardOf(ns);
                assertThat(h).isGreaterThanOrEqualTo(space.start(shard)).isLessThan(space.end(shard));
            }
            // The boundary hashes themselves.
            for (int i = 1; i < Math.min(s, 64); i++) {
                long first = space.start(i).longValue();
                assertThat((int) Math.unsignedMultiplyHigh(first, s)).isEqualTo(i);
                assertThat((int) Math.unsignedMultiplyHigh(first - 1, s)).isEqualTo(i - 1);
            }
        }
    }

    @Test
    void invalidShardCountsAreRejectedWithTheRange() {
        assertThatThrownBy(() -> new ShardSpace(0)).hasMessage("shard count must be between 1 and 4096, got 0");
        assertThatThrownBy(() -> new ShardSpace(4097)).hasMessage("shard count must be between 1 and 4096, got 4097");
        assertThatThrownBy(() -> new ShardSpace(32).selector(32)).hasMessageContaining("outside 0..31");
        assertThatThrownBy(() -> new ShardSpace(32).selector(List.of())).hasMessageContaining("at least one shard");
    }

    @Test
    void selectorsUseTheServersExactSyntax() {
        String expr = new ShardSpace(2).selector(1).toExpression();
        assertThat(expr).isEqualTo("shardRange(object.metadata.namespace, '0x8000000000000000', '0x10000000000000000')");
        assertThat(new ShardSpace(4).selector(List.of(0, 2)).toExpression()).contains(" || ");
    }
}
