package dev.flotilla.tuning.controller;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.tuning.guard.Decision;
import dev.flotilla.tuning.guard.GuardrailContext;
import dev.flotilla.tuning.guard.GuardrailContext.Capacity;
import dev.flotilla.tuning.guard.Guardrails;
import dev.flotilla.tuning.recommend.ContainerResources;
import dev.flotilla.tuning.recommend.ResourceBounds;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** One pass's Apply actions share the quota: what one container took, the next one does not see again. */
class QuotaLedgerTest {

    static final long MIB = 1L << 20;
    static final ContainerResources ONE_CORE = ContainerResources.of(1000, 2000, 1024 * MIB, 2048 * MIB);

    static GuardrailContext ctx(ContainerResources other, Optional<Capacity> room) {
        return new GuardrailContext(List.of(other), new ResourceBounds(50, 4000, 64 * MIB, 8192 * MIB), 2.0, 0.8, false,
                Optional.empty(), Duration.ofMinutes(5), Optional.empty(), Optional.empty(), room, 2, false).withSurge(1);
    }

    @Test
    void twoContainersOfOneDeploymentShareTheRoomAndItsOneSurge() {
        // 2 replicas of a pod with two 1-core containers; 3 cores of room; one surge pod of 2 cores.
        QuotaLedger ledger = new QuotaLedger();
        Optional<Capacity> room = Optional.of(new Capacity(OptionalLong.of(3000), OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty()));
        ContainerResources wanted = ContainerResources.of(2000, 2000 * 2, 1024 * MIB, 2048 * MIB);
        Decision app = Guardrails.judge(ONE_CORE, wanted, ctx(ONE_CORE, ledger.roomFor("Deployment/web", room)), Instant.EPOCH);
        assertThat(((Decision.Allow) app).target().cpuRequestMillis()).hasValue(1500); // (3000 - 2000) / 2
        ledger.applied("Deployment/web", new long[] {500, 0, 0, 0}, 2, new long[] {2000, 0, 4000, 0});
        assertThat(ledger.roomFor("Deployment/web", room).orElseThrow().cpuRequestMillis()).hasValue(2000);
        // The second container finds 2000m, all of it held for the same surge pod: its CPU request stays (its limit, which
        // this quota does not cap, still moves).
        Decision side = Guardrails.judge(ONE_CORE, wanted, ctx(ONE_CORE, ledger.roomFor("Deployment/web", room)), Instant.EPOCH);
        assertThat(side).isInstanceOfSatisfying(Decision.Allow.class, a -> {
            assertThat(a.target().cpuRequestMillis()).hasValue(1000);
            assertThat(a.adjustments()).anyMatch(s -> s.contains("2000m of it held for the rollout's surge pods"));
        });
        // Another Deployment of the pass sees the raise and this rollout's surge pod taken: nothing left.
        assertThat(ledger.roomFor("Deployment/api", room).orElseThrow().cpuRequestMillis()).hasValue(0);
        assertThat(ledger.roomFor("Deployment/api", Optional.empty())).isEmpty();
    }
}
