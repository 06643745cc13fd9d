package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Passes run coalesced, at the instant asked for (1 ms late), and at least every period. */
class ReactorTest {

    private static final long MILLI = 1_000_000L;

    private final SimWorld world = new SimWorld(1);
    private final SimWorld.Owner owner = new SimWorld.Owner() {
        @Override
        public boolean killed() {
            return false;
        }

        @Override
        public long frozenUntil() {
            return 0;
        }
    };
    private final List<Long> passes = new ArrayList<>();
    private OptionalLong wanted = OptionalLong.empty();
    private final Reactor reactor = new Reactor(world.lane(owner), world, () -> {
        passes.add(world.nanoTime() - SimWorld.EPOCH_NANOS);
        return wanted;
    }, Duration.ofSeconds(1));

    @Test
    void pokesArrivingTogetherCostOnePass() {
        for (int i = 0; i < 50; i++) {
            reactor.poke();
        }
        world.settle();
        assertThat(passes).containsExactly(0L);
    }

    @Test
    void aPassRunsOneMillisecondAfterTheInstantItAskedForAndOtherwiseEveryPeriodWithoutSpinningOnAPastInstant() {
        wanted = OptionalLong.of(SimWorld.EPOCH_NANOS + 300 * MILLI);
        reactor.poke();
        world.runFor(Duration.ofMillis(2_305)); // the pass at 301 ms asks for 300 ms again: that instant is past, not a loop
        assertThat(passes).containsExactly(0L, 301 * MILLI, 1_302 * MILLI, 2_303 * MILLI);
    }
}
