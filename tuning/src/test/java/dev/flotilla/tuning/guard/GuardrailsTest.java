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

    static LimitRangeBounds cpuRange(GuardrailContext.ResourceRange cpu) {
        return new LimitRangeBounds(cpu, GuardrailContext.ResourceRange.NONE);
    }

    static GuardrailContext.ResourceRange range(long defaultLimit, long defaultRequest, long ratioMilli, long podMax) {
        return new GuardrailContext.ResourceRange(OptionalLong.empty(), OptionalLong.empty(), opt(defaultLimit), opt(defaultRequest),
                opt(ratioMilli), opt(podMax));
    }

    static OptionalLong opt(long v) {
        return v > 0 ? OptionalLong.of(v) : OptionalLong.empty();
    }

    static GuardrailContext limitRanged(LimitRangeBounds lr) {
        return new GuardrailContext(List.of(), BOUNDS, 2.0, 0.8, false, Optional.empty(), Duration.ofMinutes(5), Optional.empty(),
                Optional.of(lr), Optional.empty(), 1, false);
    }

    @Test
    void aRequestWithoutALimitStaysUnderTheLimitRangesDefaultLimit() {
        ContainerResources noCpuLimit = ContainerResources.of(1000, 0, 1024 * MIB, 2048 * MIB);
        Decision d = Guardrails.judge(noCpuLimit, ContainerResources.of(2000, 0, 1024 * MIB, 2048 * MIB),
                limitRanged(cpuRange(range(1500, 1500, 0, 0))), NOW);
        assertThat(d).isInstanceOfSatisfying(Decision.Allow.class, a -> {
            assertThat(a.target().cpuRequestMillis()).hasValue(1500);
            assertThat(a.target().cpuLimitMillis()).isEmpty();
            assertThat(a.adjustments()).anyMatch(s -> s.contains("the default limit new pods get"));
        });
        // A request written nowhere gets defaultRequest; the check sees the pod as the LimitRanger will make it.
        assertThat(LimitRangeCheck.violation(ContainerResources.of(0, 0, 64 * MIB, 0), List.of(), List.of(),
                cpuRange(range(1500, 2000, 0, 0)))).hasValueSatisfying(m -> assertThat(m).contains("above the limit 1500m"));
    }

    @Test
    void theLimitToRequestRatioHoldsALoweringAndCutsALimitRaiseRoundingTheWayThePluginDoes() {
        // Limit 2000m, ratio 2.2: the smallest request is 2000/2.2 = 909.09m, rounded up to 910m (909m gives 2.2002).
        Decision down = judge(ContainerResources.of(800, 2000, 1024 * MIB, 2048 * MIB), limitRanged(cpuRange(range(0, 0, 2200, 0))));
        assertThat(down).isInstanceOfSatisfying(Decision.Allow.class,
                a -> assertThat(a.target().cpuRequestMillis()).hasValue(910));
        assertThat(LimitRangeCheck.ratioExceeded(2000, 909, 2200)).isTrue();
        assertThat(LimitRangeCheck.ratioExceeded(2000, 910, 2200)).isFalse();
        assertThat(LimitRangeCheck.largestLimit(333, 1500)).isEqualTo(499); // 499.5 rounds down
        assertThat(LimitRangeCheck.smallestRequest(1000, 3000)).isEqualTo(334); // 333.3 rounds up
        // A limit raise to 4000m over a 1000m request with ratio 3 is cut to 3000m.
        Decision up = judge(ContainerResources.of(1000, 4000, 1024 * MIB, 2048 * MIB), limitRanged(cpuRange(range(0, 0, 3000, 0))));
        assertThat(up).isInstanceOfSatisfying(Decision.Allow.class, a -> assertThat(a.target().cpuLimitMillis()).hasValue(3000));
        // With a ratio, a limit may not be lifted: the LimitRanger wants both request and limit.
        Decision lift = judge(new ContainerResources(OptionalLong.of(1200), OptionalLong.empty(), OptionalLong.of(1024 * MIB),
                OptionalLong.of(2048 * MIB)), limitRanged(cpuRange(range(0, 0, 2000, 0))));
        assertThat(lift).isInstanceOfSatisfying(Decision.Allow.class, a -> {
            assertThat(a.target().cpuLimitMillis()).hasValue(2000);
            assertThat(a.target().cpuRequestMillis()).hasValue(1200);
        });
        // What cannot be made admissible is refused, not written: a limit already 4x its request under a ratio of 2.
        ContainerResources over = ContainerResources.of(500, 2000, 1024 * MIB, 2048 * MIB);
        assertThat(Guardrails.judge(over, ContainerResources.of(400, 2000, 1024 * MIB, 2048 * MIB),
                limitRanged(cpuRange(range(0, 0, 2000, 0))), NOW)).isInstanceOfSatisfying(Decision.Refuse.class, r -> {
                    assertThat(r.guardrail()).isEqualTo(Guardrail.LIMIT_RANGE);
                    assertThat(r.message()).contains("max limit to request ratio");
                });
    }

    @Test
    void aPodMaximumIsSharedWithThePodsOtherContainers() {
        GuardrailContext c = new GuardrailContext(List.of(ContainerResources.of(500, 1000, 64 * MIB, 64 * MIB)), BOUNDS, 2.0, 0.8,
                false, Optional.empty(), Duration.ofMinutes(5), Optional.empty(),
                Optional.of(cpuRange(range(0, 0, 0, 3500))), Optional.empty(), 1, false);
        Decision d = judge(ContainerResources.of(2000, 4000, 1024 * MIB, 2048 * MIB), c);
        assertThat(d).isInstanceOfSatisfying(Decision.Allow.class, a -> {
            assertThat(a.target().cpuRequestMillis()).hasValue(2000);
            assertThat(a.target().cpuLimitMillis()).hasValue(2500); // 3500m per pod less the other container's 1000m
        });
    }

    @Test
    void aPodMaximumSumsWhatExistsAndCountsSidecarsAsTheApiServerDoes() {
        // Both measured on the REAL server (1.35) under a Pod max of 4 CPU.
        var pod4 = cpuRange(range(0, 0, 0, 4000));
        // A container without a limit beside one with a 2-CPU limit: admitted (only what exists is summed).
        assertThat(LimitRangeCheck.violation(ContainerResources.of(0, 2000, 0, 0), List.of(ContainerResources.of(0, 0, 0, 0)),
                List.of(), pod4)).isEmpty();
        // A 1-CPU sidecar beside a 3.5-CPU container: refused, 4500m.
        var sidecar = new PodShape.InitContainer(ContainerResources.of(0, 1000, 0, 0), true);
        assertThat(LimitRangeCheck.violation(ContainerResources.of(0, 3500, 0, 0), List.of(), List.of(sidecar), pod4))
                .hasValueSatisfying(m -> assertThat(m).contains("per Pod is 4000m").contains("/4500m"));
        // An ordinary init container runs alone: 3 CPU before a 2-CPU container fits.
        var init = new PodShape.InitContainer(ContainerResources.of(0, 3000, 0, 0), false);
        assertThat(LimitRangeCheck.violation(ContainerResources.of(0, 2000, 0, 0), List.of(), List.of(init), pod4)).isEmpty();
        // No limit anywhere: the plugin wants one.
        assertThat(LimitRangeCheck.violation(ContainerResources.of(1000, 0, 0, 0), List.of(), List.of(), pod4))
                .hasValueSatisfying(m -> assertThat(m).contains("unset"));
    }

    @Test
    void surgePercentagesRoundUpAndDefaultTo25Percent() {
        assertThat(Surge.pods(2, Optional.empty())).isEqualTo(1); // 0.5 rounds up
        assertThat(Surge.pods(10, Optional.of("25%"))).isEqualTo(3); // 2.5 rounds up
        assertThat(Surge.pods(4, Optional.of("25%"))).isEqualTo(1);
        assertThat(Surge.pods(3, Optional.of("0"))).isZero();
        assertThat(Surge.pods(0, Optional.of("100%"))).isZero();
        assertThat(Surge.pods(3, Optional.of("2"))).isEqualTo(2);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Surge.pods(3, Optional.of("two")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("two");
    }

    @Test
    void theQuotaHoldsRoomForTheSurgePodsBeforeSharingTheRestAmongTheReplicas() {
        // 1500m of room; one surge pod of today's size (1000m) is held first; 500m is left for 2 replicas: +250m each.
        GuardrailContext quota = new GuardrailContext(List.of(), BOUNDS, 2.0, 0.8, false, Optional.empty(),
                Duration.ofMinutes(5), Optional.empty(), Optional.empty(),
                Optional.of(Capacity.requests(1500, 8192 * MIB)), 2, false).withSurge(1);
        Decision d = judge(ContainerResources.of(2000, 2000, 1024 * MIB, 2048 * MIB), quota);
        assertThat(d).isInstanceOfSatisfying(Decision.Allow.class, a -> {
            assertThat(a.target().cpuRequestMillis()).hasValue(1250);
            assertThat(a.adjustments()).anyMatch(s -> s.contains("1000m of it held for the rollout's surge pods"));
        });
        // The surge pod is the whole pod: its init containers' peak and overhead count too (max(1000+500, 2000) + 100).
        GuardrailContext pod = quota.withPod(List.of(new PodShape.InitContainer(ContainerResources.of(2000, 0, 64 * MIB, 0), false)),
                ContainerResources.of(100, 0, 0, 0));
        Decision whole = Guardrails.judge(CURRENT, ContainerResources.of(2000, 2000, 1024 * MIB, 2048 * MIB),
                new GuardrailContext(List.of(ContainerResources.of(500, 0, 64 * MIB, 0)), BOUNDS, 2.0, 0.8, false,
                        Optional.empty(), Duration.ofMinutes(5), Optional.empty(), Optional.empty(),
                        Optional.of(Capacity.requests(2500, 8192 * MIB)), 2, false).withSurge(1)
                        .withPod(pod.initContainers(), pod.overhead()), NOW);
        // 2500m - 2100m for the surge pod = 400m for 2 replicas: +200m.
        assertThat(((Decision.Allow) whole).target().cpuRequestMillis()).hasValue(1200);
    }

    @Test
    void aPodCountsItsLargestInitContainerBesideTheSidecarsStartedBeforeIt() {
        var sidecar200 = new PodShape.InitContainer(ContainerResources.of(200, 0, 10 * MIB, 0), true);
        var migrate = new PodShape.InitContainer(ContainerResources.of(1000, 0, 10 * MIB, 0), false);
        var sidecar100 = new PodShape.InitContainer(ContainerResources.of(100, 0, 10 * MIB, 0), true);
        // A container with only a limit asks its limit.
        var app = ContainerResources.of(0, 500, 0, 100 * MIB);
        PodShape pod = new PodShape(List.of(app), List.of(sidecar200, migrate, sidecar100), ContainerResources.of(250, 0, MIB, 0));
        // Running: 500 + 200 + 100 = 800m; migrate runs beside the first sidecar only: 1200m; plus 250m overhead.
        assertThat(pod.requests()).isEqualTo(new PodShape.Totals(1450, 120 * MIB + MIB));
        assertThat(pod.steadyRequests()).isEqualTo(new PodShape.Totals(1050, 120 * MIB + MIB));
        assertThat(pod.limits()).isEqualTo(new PodShape.Totals(750, 101 * MIB));
        // Without sidecars, a large init container alone sets the pod's request.
        assertThat(new PodShape(List.of(app), List.of(migrate), PodShape.NONE).requests().cpuMillis()).isEqualTo(1000);
    }
}
