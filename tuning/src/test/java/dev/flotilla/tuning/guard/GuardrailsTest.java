package dev.flotilla.tuning.guard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.tuning.guard.Decision.Guardrail;
import dev.flotilla.tuning.guard.GuardrailContext.Capacity;
import dev.flotilla.tuning.guard.GuardrailContext.LimitRangeBounds;
import dev.flotilla.tuning.recommend.ContainerResources;
import dev.flotilla.tuning.recommend.ResourceBounds;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Every guardrail shown stopping (or cutting back) an action it must stop. */
class GuardrailsTest {

    static final long MIB = 1L << 20;
    static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");
    static final ResourceBounds BOUNDS = new ResourceBounds(50, 4000, 64 * MIB, 8192 * MIB);
    static final ContainerResources CURRENT = ContainerResources.of(1000, 2000, 1024 * MIB, 2048 * MIB);

    static GuardrailContext ctx() {
        return new GuardrailContext(List.of(), BOUNDS, 2.0, 0.8, false, Optional.empty(), Duration.ofMinutes(5), Optional.empty(),
                Optional.empty(), Optional.empty(), 1, false);
    }

    static GuardrailContext with(java.util.function.UnaryOperator<GuardrailContext> f) {
        return f.apply(ctx());
    }

    static Decision judge(ContainerResources proposed, GuardrailContext ctx) {
        return Guardrails.judge(CURRENT, proposed, ctx, NOW);
    }

    @Test
    void theKillSwitchStopsEverything() {
        GuardrailContext c = new GuardrailContext(List.of(), BOUNDS, 2.0, 0.8, true, Optional.empty(), Duration.ofMinutes(5),
                Optional.empty(), Optional.empty(), Optional.empty(), 1, true);
        assertThat(judge(ContainerResources.of(1200, 2000, 1024 * MIB, 2048 * MIB), c))
                .isEqualTo(new Decision.Refuse(Guardrail.KILL_SWITCH, "tuning is switched off by the kill switch; nothing is changed"));
    }

    @Test
    void theCoolDownHoldsAnOrdinaryChangeButNotAnUrgentOne() {
        GuardrailContext recent = new GuardrailContext(List.of(), BOUNDS, 2.0, 0.8, false, Optional.of(NOW.minusSeconds(60)),
                Duration.ofMinutes(5), Optional.empty(), Optional.empty(), Optional.empty(), 1, false);
        ContainerResources more = ContainerResources.of(1200, 2000, 1024 * MIB, 2048 * MIB);
        assertThat(judge(more, recent)).isInstanceOfSatisfying(Decision.Refuse.class,
                r -> assertThat(r.guardrail()).isEqualTo(Guardrail.COOL_DOWN));
        GuardrailContext urgent = new GuardrailContext(List.of(), BOUNDS, 2.0, 0.8, true, Optional.of(NOW.minusSeconds(60)),
                Duration.ofMinutes(5), Optional.empty(), Optional.empty(), Optional.empty(), 1, false);
        assertThat(judge(more, urgent)).isInstanceOf(Decision.Allow.class);
    }

    @Test
    void policyBoundsAndTheStepLimitCutARaiseBack() {
        Decision d = judge(ContainerResources.of(6000, 8000, 1024 * MIB, 2048 * MIB), ctx());
        assertThat(d).isInstanceOfSatisfying(Decision.Allow.class, a -> {
            assertThat(a.target().cpuRequestMillis()).hasValue(2000); // bounds cut 6000 to 4000, the x2 step to 2000
            assertThat(a.target().cpuLimitMillis()).hasValue(4000);
            assertThat(a.adjustments()).anyMatch(s -> s.contains("POLICY_BOUNDS")).anyMatch(s -> s.contains("STEP"));
        });
        Decision down = judge(ContainerResources.of(100, 2000, 1024 * MIB, 2048 * MIB), ctx());
        assertThat(((Decision.Allow) down).target().cpuRequestMillis()).hasValue(800);
    }

    @Test
    void aLimitRangeMaximumCutsTheRaise() {
        GuardrailContext c = new GuardrailContext(List.of(), BOUNDS, 2.0, 0.8, false, Optional.empty(), Duration.ofMinutes(5),
                Optional.empty(), Optional.of(new LimitRangeBounds(OptionalLong.empty(), OptionalLong.of(1500),
                OptionalLong.empty(), OptionalLong.empty())), Optional.empty(), 1, false);
        Decision d = judge(ContainerResources.of(1800, 2000, 1024 * MIB, 2048 * MIB), c);
        assertThat(d).isInstanceOfSatisfying(Decision.Allow.class, a -> {
            assertThat(a.target().cpuRequestMillis()).hasValue(1500);
            assertThat(a.target().cpuLimitMillis()).hasValue(1500);
        });
    }

    @Test
    void nodeCapacityCutsARaiseToWhatTheNodeHasLeftAndRefusesWhenItHasNone() {
        GuardrailContext room300 = new GuardrailContext(List.of(), BOUNDS, 2.0, 0.8, false, Optional.empty(),
                Duration.ofMinutes(5), Optional.of(Capacity.requests(300, 8192 * MIB)), Optional.empty(), Optional.empty(), 1, false);
        Decision d = judge(ContainerResources.of(1600, 2000, 1024 * MIB, 2048 * MIB), room300);
        assertThat(((Decision.Allow) d).target().cpuRequestMillis()).hasValue(1300);
        GuardrailContext full = new GuardrailContext(List.of(), BOUNDS, 2.0, 0.8, false, Optional.empty(), Duration.ofMinutes(5),
                Optional.of(Capacity.requests(0, 0)), Optional.empty(), Optional.empty(), 1, false);
        assertThat(judge(ContainerResources.of(1600, 2000, 1024 * MIB, 2048 * MIB), full))
                .isInstanceOfSatisfying(Decision.Refuse.class, r -> assertThat(r.guardrail()).isEqualTo(Guardrail.NODE_CAPACITY));
    }

    @Test
    void aResourceQuotaCutsTheRaiseOfEveryReplica() {
        GuardrailContext quota = new GuardrailContext(List.of(), BOUNDS, 2.0, 0.8, false, Optional.empty(),
                Duration.ofMinutes(5), Optional.empty(), Optional.empty(),
                Optional.of(Capacity.requests(10_000, 1024 * MIB)), 4, false);
        Decision d = judge(ContainerResources.of(1000, 2000, 2048 * MIB, 2048 * MIB), quota);
        assertThat(d).isInstanceOfSatisfying(Decision.Allow.class, a -> {
            assertThat(a.target().memoryRequestBytes()).hasValue(1024 * MIB + 256 * MIB); // 1 GiB left for 4 pods
            assertThat(a.adjustments()).anyMatch(s -> s.contains("ResourceQuota") && s.contains("4 pods"));
        });
    }

    @Test
    void aChangeThatWouldAlterTheQosClassIsRefused() {
        // Burstable -> Guaranteed: requests made equal to limits.
        assertThat(judge(ContainerResources.of(2000, 2000, 2048 * MIB, 2048 * MIB), ctx()))
                .isInstanceOfSatisfying(Decision.Refuse.class, r -> {
                    assertThat(r.guardrail()).isEqualTo(Guardrail.QOS_CLASS);
                    assertThat(r.message()).contains("from Burstable into Guaranteed");
                });
        // Guaranteed stays Guaranteed when requests and limits move together.
        ContainerResources guaranteed = ContainerResources.of(1000, 1000, 1024 * MIB, 1024 * MIB);
        assertThat(Guardrails.judge(guaranteed, ContainerResources.of(1500, 1500, 1024 * MIB, 1024 * MIB), ctx(), NOW))
                .isInstanceOf(Decision.Allow.class);
        // ... and a limit cut below its request by a LimitRange would break it: refused rather than made Burstable.
        GuardrailContext lr = new GuardrailContext(List.of(), BOUNDS, 2.0, 0.8, false, Optional.empty(), Duration.ofMinutes(5),
                Optional.empty(), Optional.of(new LimitRangeBounds(OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty(), OptionalLong.of(1024 * MIB))), Optional.empty(), 1, false);
        assertThat(Guardrails.judge(guaranteed, new ContainerResources(OptionalLong.of(1500), OptionalLong.empty(),
                OptionalLong.of(1024 * MIB), OptionalLong.of(1024 * MIB)), lr, NOW))
                .isInstanceOfSatisfying(Decision.Refuse.class, r -> assertThat(r.guardrail()).isEqualTo(Guardrail.QOS_CLASS));
        // BestEffort never gets requests.
        ContainerResources none = new ContainerResources(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty());
        assertThat(Guardrails.judge(none, ContainerResources.of(100, 0, 64 * MIB, 0), ctx(), NOW))
                .isInstanceOfSatisfying(Decision.Refuse.class, r -> assertThat(r.guardrail()).isEqualTo(Guardrail.QOS_CLASS));
    }

    @Test
    void qosIsComputedOverTheWholePod() {
        ContainerResources g = ContainerResources.of(100, 100, 64 * MIB, 64 * MIB);
        ContainerResources b = ContainerResources.of(100, 200, 64 * MIB, 64 * MIB);
        ContainerResources e = new ContainerResources(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty());
        assertThat(QosClass.of(List.of(g, g))).isEqualTo(QosClass.Guaranteed);
        assertThat(QosClass.of(List.of(g, b))).isEqualTo(QosClass.Burstable);
        assertThat(QosClass.of(List.of(e, e))).isEqualTo(QosClass.BestEffort);
        assertThat(QosClass.of(List.of(e, g))).isEqualTo(QosClass.Burstable);
    }

    @Test
    void anExistingLimitAboveThePolicyMaximumIsNotPushedDown() {
        ResourceBounds small = new ResourceBounds(50, 4000, 64 * MIB, 1024 * MIB);
        ContainerResources big = ContainerResources.of(1000, 2000, 1024 * MIB, 4096 * MIB);
        GuardrailContext c = new GuardrailContext(List.of(), small, 2.0, 0.8, false, Optional.empty(), Duration.ofMinutes(5),
                Optional.empty(), Optional.empty(), Optional.empty(), 1, false);
        Decision d = Guardrails.judge(big, ContainerResources.of(1200, 2000, 1024 * MIB, 4096 * MIB), c, NOW);
        assertThat(((Decision.Allow) d).target().memoryLimitBytes()).hasValue(4096 * MIB);
    }
}
