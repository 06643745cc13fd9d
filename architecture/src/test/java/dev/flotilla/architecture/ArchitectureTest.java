package dev.flotilla.architecture;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The dependency rules of the code base, checked on every module's main classes in every build.
 * {@link ArchitectureRulesCanFailTest} shows that each rule reports a violation planted for it.
 */
@AnalyzeClasses(packages = "dev.flotilla", importOptions = ImportOption.DoNotIncludeTests.class)
public final class ArchitectureTest {

    private ArchitectureTest() {
    }

    /**
     * Modules point one way: controller-core and testing depend on no other Flotilla module;
     * resilience, sharding, tuning, the example controller and the programs' shared command-line
     * pieces only on core; nothing depends on the CLI, the demo, the chaos engine or the benchmarks;
     * only the demo and the chaos engine (and the benchmarks) bring the test backends into a program.
     */
    @ArchTest
    public static final ArchRule MODULES = layeredArchitecture().consideringOnlyDependenciesInLayers()
            .layer("Core").definedBy("dev.flotilla.core..")
            .layer("Resilience").definedBy("dev.flotilla.resilience..")
            .layer("Sharding").definedBy("dev.flotilla.sharding..")
            .layer("Tuning").definedBy("dev.flotilla.tuning..")
            .layer("Example").definedBy("dev.flotilla.examples..")
            .layer("CliCommon").definedBy("dev.flotilla.cli..")
            .layer("Testing").definedBy("dev.flotilla.testing..")
            .layer("Cli").definedBy("dev.flotilla.manager..")
            .layer("Demo").definedBy("dev.flotilla.demo..")
            .layer("Chaos").definedBy("dev.flotilla.chaos..")
            .layer("BenchProtocol").definedBy("dev.flotilla.bench.protocol..")
            .layer("Bench").definedBy(resideInAPackage("dev.flotilla.bench..")
                    .and(not(resideInAPackage("dev.flotilla.bench.protocol.."))))
            .whereLayer("Core").mayNotAccessAnyLayer()
            .whereLayer("Testing").mayNotAccessAnyLayer()
            .whereLayer("BenchProtocol").mayNotAccessAnyLayer()
            .whereLayer("Resilience").mayOnlyAccessLayers("Core")
            .whereLayer("Sharding").mayOnlyAccessLayers("Core")
            // The tuner's Prometheus calls pass the API guard's token bucket and breaker settings.
            .whereLayer("Tuning").mayOnlyAccessLayers("Core", "Resilience")
            .whereLayer("Example").mayOnlyAccessLayers("Core")
            .whereLayer("CliCommon").mayOnlyAccessLayers("Core")
            .whereLayer("Testing").mayOnlyBeAccessedByLayers("Demo", "Bench", "Chaos")
            .whereLayer("Cli").mayNotBeAccessedByAnyLayer()
            .whereLayer("Demo").mayNotBeAccessedByAnyLayer()
            .whereLayer("Chaos").mayNotBeAccessedByAnyLayer()
            .whereLayer("Bench").mayNotBeAccessedByAnyLayer()
            .as("modules depend one way: core <- resilience, sharding, tuning (also <- resilience), example, cli-common <- CLI, demo, "
                    + "chaos engine, benchmarks; nothing depends on the CLI, the demo, the chaos engine or the benchmarks; "
                    + "core and testing on no other "
                    + "module");

    /**
     * Inside controller-core: {@code reconcile} (what a controller author implements and reads) needs
     * nothing else; {@code ratelimit} (the one token bucket) needs nothing else either, so the work
     * queue, the event recorder and the API guard can all build on it; caches serve reconcile; the
     * queue knows no informer; {@code logging} (how repeating failures are reported) needs nothing and anyone may use
     * it; the manager sits on top and nothing below it reaches up to it.
     */
    @ArchTest
    public static final ArchRule CORE_PACKAGES = layeredArchitecture().consideringOnlyDependenciesInLayers()
            .layer("Api").definedBy("dev.flotilla.core.reconcile..")
            .layer("RateLimit").definedBy("dev.flotilla.core.ratelimit..")
            .layer("Logging").definedBy("dev.flotilla.core.logging..")
            .layer("Queue").definedBy("dev.flotilla.core.queue..")
            .layer("Metrics").definedBy("dev.flotilla.core.metrics..")
            .layer("Cache").definedBy("dev.flotilla.core.cache..")
            .layer("Controller").definedBy("dev.flotilla.core.controller..")
            .layer("Helpers").definedBy("dev.flotilla.core.apply..", "dev.flotilla.core.events..", "dev.flotilla.core.health..")
            .layer("Manager").definedBy("dev.flotilla.core.manager..")
            .whereLayer("Api").mayNotAccessAnyLayer()
            .whereLayer("RateLimit").mayNotAccessAnyLayer()
            .whereLayer("Logging").mayNotAccessAnyLayer()
            .whereLayer("Queue").mayOnlyAccessLayers("RateLimit")
            .whereLayer("Metrics").mayOnlyAccessLayers("Queue")
            .whereLayer("Cache").mayOnlyAccessLayers("Api", "Logging")
            .whereLayer("Controller").mayOnlyAccessLayers("Api", "Queue", "Metrics", "Cache", "Logging")
            .whereLayer("Helpers").mayOnlyAccessLayers("Queue", "RateLimit", "Logging")
            .whereLayer("Manager").mayNotBeAccessedByAnyLayer()
            .as("controller-core's packages are layered: reconcile, ratelimit <- queue <- metrics, cache <- controller <- manager");

    /**
     * Inside resilience: the API guard (classification, budgets, breaker, retry) knows no HTTP client. It
     * reaches fabric8 only through its adapter, {@code resilience.fabric8}, which depends on the guard and
     * not the other way round, so the guard's policy can be read, tested and reused without fabric8.
     */
    @ArchTest
    public static final ArchRule GUARD_WITHOUT_FABRIC8 = noClasses().that().resideInAPackage("dev.flotilla.resilience.guard..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.flotilla.resilience.fabric8..", "io.fabric8..")
            .as("the API guard (resilience.guard) depends neither on its fabric8 adapter (resilience.fabric8) nor on fabric8");

    /** No two packages depend on each other, directly or around a loop. */
    @ArchTest
    public static final ArchRule NO_PACKAGE_CYCLES = slices().matching("dev.flotilla.(**)").should().beFreeOfCycles()
            .as("no package cycles");

    /**
     * The shard, membership and coordinator state machines reach the API server only through their
     * ports (LeaseStore, LeaseView, ShardWork, Lane, MonotonicClock): that is what lets them run on
     * a virtual clock in the simulation, and what keeps a protocol change local.
     */
    @ArchTest
    public static final ArchRule STATE_MACHINES_ON_PORTS = noClasses().that().areAnnotatedWith("dev.flotilla.sharding.OnPorts")
            .should().dependOnClassesThat().resideInAnyPackage("io.fabric8.kubernetes.client..", "dev.flotilla.core.manager..",
                    "dev.flotilla.core.cache..", "dev.flotilla.core.controller..")
            .orShould().callMethod(System.class, "nanoTime")
            .orShould().callMethod(System.class, "currentTimeMillis")
            .orShould().callMethod(Thread.class, "sleep", long.class)
            .as("the sharding state machines (@OnPorts) use only their ports: no fabric8 client, no manager, no real clock");

    /**
     * Nothing runs on the common fork-join pool: no asynchronous {@code CompletableFuture} step without an executor, and
     * no {@code ForkJoinPool.commonPool()}. Why: fabric8's JDK HTTP client ({@code java.net.http}) completes every
     * asynchronous call's dependent steps in that pool, whose parallelism on 2 cores is 1, so one task blocking there
     * stalls every API call of the process until its request timeout (a test running {@code flotilla run} on the
     * pool stalled every client in its JVM). Flotilla's own client is Vert.x 5, but the JDK's is a user's choice
     * ({@code GuardedClients.newClient(config, guard, factory)}) and a candidate for Flotilla's.
     */
    @ArchTest
    public static final ArchRule NO_WORK_ON_THE_COMMON_POOL = noClasses()
            .should().callMethod(CompletableFuture.class, "supplyAsync", Supplier.class)
            .orShould().callMethod(CompletableFuture.class, "runAsync", Runnable.class)
            .orShould().callMethod(CompletableFuture.class, "thenApplyAsync", Function.class)
            .orShould().callMethod(CompletableFuture.class, "thenAcceptAsync", Consumer.class)
            .orShould().callMethod(CompletableFuture.class, "thenRunAsync", Runnable.class)
            .orShould().callMethod(CompletableFuture.class, "thenComposeAsync", Function.class)
            .orShould().callMethod(CompletableFuture.class, "whenCompleteAsync", BiConsumer.class)
            .orShould().callMethod(CompletableFuture.class, "handleAsync", BiFunction.class)
            .orShould().callMethod(CompletableFuture.class, "exceptionallyAsync", Function.class)
            .orShould().callMethod(ForkJoinPool.class, "commonPool")
            .as("no work on the common fork-join pool: every asynchronous step names its executor");
}
