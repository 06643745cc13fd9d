package dev.flotilla.architecture;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import org.junit.jupiter.api.Test;

/**
 * Each rule of {@link ArchitectureTest}, run on the real classes plus one class planted to break
 * it (the planted classes live in this module's test sources, under the packages they pretend to
 * belong to), reports exactly that violation. A rule that could not fail would pass here too.
 */
class ArchitectureRulesCanFailTest {

    private static String violations(ArchRule rule, Class<?>... planted) {
        JavaClasses classes = new ClassFileImporter().importClasses(planted);
        EvaluationResult result = rule.evaluate(classes);
        assertThat(result.hasViolation()).as("%s fails on %s", rule.getDescription(), java.util.List.of(planted)).isTrue();
        return result.getFailureReport().toString();
    }

    @Test
    void aCoreClassUsingTheCliBreaksTheModuleRule() {
        assertThat(violations(ArchitectureTest.MODULES, dev.flotilla.core.planted.UsesTheCli.class,
                dev.flotilla.manager.Main.class)).contains("UsesTheCli").contains("dev.flotilla.manager.Main");
    }

    @Test
    void theBenchmarksUsingTheCliOrTheExampleUsingTheDemoBreakTheModuleRule() {
        assertThat(violations(ArchitectureTest.MODULES, dev.flotilla.bench.planted.UsesTheCli.class,
                dev.flotilla.manager.Main.class)).contains("dev.flotilla.bench.planted.UsesTheCli");
        assertThat(violations(ArchitectureTest.MODULES, dev.flotilla.examples.planted.UsesTheDemo.class,
                dev.flotilla.demo.DemoCommand.class)).contains("UsesTheDemo");
    }

    @Test
    void aShardingClassUsingResilienceBreaksTheModuleRule() {
        assertThat(violations(ArchitectureTest.MODULES, dev.flotilla.sharding.planted.UsesResilience.class,
                dev.flotilla.resilience.guard.GuardConfig.class)).contains("UsesResilience");
    }

    @Test
    void theGuardUsingFabric8OrItsAdapterBreaksTheGuardRule() {
        assertThat(violations(ArchitectureTest.GUARD_WITHOUT_FABRIC8, dev.flotilla.resilience.guard.planted.UsesFabric8.class))
                .contains("UsesFabric8").contains("io.fabric8.kubernetes.client.http.HttpRequest");
        assertThat(violations(ArchitectureTest.GUARD_WITHOUT_FABRIC8, dev.flotilla.resilience.guard.planted.UsesTheAdapter.class,
                dev.flotilla.resilience.fabric8.GuardedClients.class))
                .contains("UsesTheAdapter").contains("dev.flotilla.resilience.fabric8.GuardedClients");
    }

    @Test
    void theQueueReachingUpToTheControllerBreaksTheCoreLayering() {
        assertThat(violations(ArchitectureTest.CORE_PACKAGES, dev.flotilla.core.queue.planted.UsesTheController.class,
                dev.flotilla.core.controller.KeyGate.class)).contains("UsesTheController");
    }

    @Test
    void theTokenBucketReachingUpToTheQueueBreaksTheCoreLayering() {
        assertThat(violations(ArchitectureTest.CORE_PACKAGES, dev.flotilla.core.ratelimit.planted.UsesTheQueue.class,
                dev.flotilla.core.queue.RateLimiter.class)).contains("UsesTheQueue");
    }

    @Test
    void twoPackagesUsingEachOtherBreakTheCycleRule() {
        assertThat(violations(ArchitectureTest.NO_PACKAGE_CYCLES, dev.flotilla.core.planted.one.One.class,
                dev.flotilla.core.planted.two.Two.class)).contains("planted.one").contains("planted.two");
    }

    @Test
    void aStepWithoutAnExecutorBreaksTheCommonPoolRule() {
        assertThat(violations(ArchitectureTest.NO_WORK_ON_THE_COMMON_POOL, dev.flotilla.core.planted.OnTheCommonPool.class))
                .contains("OnTheCommonPool").contains("supplyAsync");
    }

    @Test
    void aStateMachineReadingTheSystemClockBreaksThePortsRule() {
        assertThat(violations(ArchitectureTest.STATE_MACHINES_ON_PORTS, dev.flotilla.sharding.PlantedClockReader.class))
                .contains("PlantedClockReader").contains("nanoTime");
    }
}
