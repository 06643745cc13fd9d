package dev.flotilla.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.chaos.engine.ChaosSession;
import dev.flotilla.chaos.engine.ExperimentResult;
import dev.flotilla.chaos.engine.HtmlReport;
import dev.flotilla.chaos.engine.ExperimentRunner;
import dev.flotilla.chaos.engine.ReplicaSpec;
import dev.flotilla.chaos.engine.Reports;
import dev.flotilla.chaos.experiment.ChaosDocuments;
import dev.flotilla.chaos.experiment.ChaosPlan;
import dev.flotilla.chaos.experiment.Experiment;
import dev.flotilla.chaos.experiment.Schedule;
import dev.flotilla.chaos.experiment.Workflow;
import dev.flotilla.chaos.engine.Timeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Every experiment of deploy/chaos and chaos-tests/experiments run by the local engine on one
 * local cluster (the REAL API server, 3 flotilla run replicas behind the fault proxy), each judged
 * from the audit log and the final state; then each invariant shown able to fail against a
 * deliberately weakened build. The reports go to target/chaos-report.
 *
 * <p>Which weakened builds run: {@code -Dflotilla.chaos.weakened=} a comma-separated list of
 * {@value #WRITE_FENCE_OFF}, {@value #DROPS_UPDATES}, {@value #RATE_LIMITER_OFF}, or {@code all}, or
 * {@code none}. By default ({@code ./test.sh}) none: the three cost 144 s (47, 56 and 41) of a suite
 * that must stay under 45 minutes, and each need only be shown failing once. {@code chaos-tests/weakened.sh}
 * runs all three and writes their verdicts to {@code chaos-tests/results/weakened.md}; the audit-log checks
 * they exercise have their own unit tests ({@code SingleWriterCheckTest}, {@code RequestBudgetCheckTest}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalChaosTest {

    static final int REPLICAS = 3;
    static final String WRITE_FENCE_OFF = "write-fence-off";
    static final String DROPS_UPDATES = "drops-updates";
    static final String RATE_LIMITER_OFF = "rate-limiter-off";
    static final long SEED = 20261204L;

    ChaosSession session;
    final List<ExperimentResult> results = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        Path work = Files.createDirectories(Path.of("target/chaos-work/" + System.currentTimeMillis()));
        session = ChaosSession.start(work, REPLICAS, SEED, product());
    }

    static ReplicaSpec product() {
        return ReplicaSpec.product(ProcessHandle.current().info().command().orElse("java"),
                System.getProperty("java.class.path"), ExperimentRunner.runArgs(), ReplicaSpec.DEBIAN_FAKETIME);
    }

    @AfterAll
    void stop() throws Exception {
        if (session != null) {
            Path dir = Files.createDirectories(Path.of("target/chaos-report"));
            Files.writeString(dir.resolve("chaos-report.json"), Reports.json(session.baseline(), results));
            Files.writeString(dir.resolve("chaos-report.md"), Reports.markdown(session.baseline(), results));
            Files.writeString(dir.resolve("chaos-report.html"), HtmlReport.render(session.baseline(), results));
            session.close();
        }
    }

    @TestFactory
    @Order(1)
    Stream<DynamicTest> everyShippedExperimentKeepsEveryInvariant() throws Exception {
        // -Dflotilla.chaos.only=pod-kill-one,etcd-kill runs those only, and no weakened build (while working on one).
        List<String> only = only();
        return ChaosDocumentsTest.shipped().stream()
                .filter(f -> only.isEmpty() || only.contains(f.getFileName().toString().replace(".yaml", ""))).map(file -> DynamicTest.dynamicTest(file.getFileName().toString(), () -> {
            ChaosPlan plan = ChaosDocuments.readPlan(file);
            ExperimentResult r = session.run(plan);
            results.add(r);
            assertThat(r.violations()).as("%s: %s", plan.describe(), r).isEmpty();
            assertThat(r.convergence()).isNotNull();
            List<Timeline.FaultWindow> faults = r.timeline().faults();
            switch (plan) {
                // Every firing found its target: a recurring coordinator kill kills a new coordinator each time.
                case Schedule s -> assertThat(faults).as("%s: one fault per firing, each on its own pod", r)
                        .hasSize(s.firings()).allSatisfy(w -> assertThat(w.targets()).hasSize(1))
                        .extracting(w -> w.targets().getFirst()).doesNotHaveDuplicates();
                // Every chaos node acted, and on pods of its own: one replica partitioned while another is killed.
                case Workflow w -> {
                    assertThat(faults).as("%s: one fault per chaos node", r).hasSize(w.faults().size())
                            .allSatisfy(f -> assertThat(f.targets()).isNotEmpty());
                    assertThat(faults.stream().flatMap(f -> f.targets().stream()).distinct().count())
                            .as("%s: no pod acted on twice", r).isEqualTo(faults.stream().mapToLong(f -> f.targets().size()).sum());
                }
                case Experiment e -> assertThat(faults).as("%s", r).hasSize(1);
            }
        }));
    }

    // First, on the fresh session: after the shipped experiments the fresh-clone CI run of 075cc99 found no violation in
    // any of three attempts (convergence lagged instead), while alone, on a fresh session, it found one at the first
    // attempt in both of two runs. Why the session's history hides the late write is not known yet.
    @Test
    @Order(0)
    void withoutTheWriteFenceAReplicaThatLostItsLeasesIsCaughtWritingAfterTheTakeover() throws Exception {
        assumeWeakened(WRITE_FENCE_OFF);
        Experiment e = ChaosDocuments.read(resource("weakened/http-abort-lease-writes.yaml"));
        // Writes queue behind its limiter (1 request/s) while its Lease writes fail: what the fence exists for. At a
        // 2 s retry period (as the CI run of 48c97a9, 6 violations): at 1 s the queue drained before the takeover.
        // A violation needs a write still queued when the others take over; whether one is depends on how many mirror
        // writes are pending at that moment, and one fresh-clone CI run (of 27 before it) found none. Until the weakened
        // build makes that certain, the run is given up to three attempts: the claim is that without the fence a
        // replica is caught writing after the takeover, which one attempt in three shows.
        ExperimentResult r = null;
        for (int attempt = 1; attempt <= 3; attempt++) {
            r = session.runWith(WRITE_FENCE_OFF, weakened(WRITE_FENCE_OFF, "1", "1").withRunArg("--retry-period", "2s"), e, 1);
            if (r.singleWriterViolations() > 0) {
                break;
            }
            System.err.println("write-fence-off attempt " + attempt + ": no violation (" + r.violations() + ")");
        }
        results.add(r);
        assertThat(r.singleWriterViolations()).as(r.violations().toString()).isPositive();
    }

    @Test
    @Order(3)
    void aReplicaThatDropsUpdatesIsReportedAsLosingThem() throws Exception {
        assumeWeakened(DROPS_UPDATES);
        Experiment e = ChaosDocuments.read(ChaosDocumentsTest.home().resolve("deploy/chaos/network-delay-all.yaml"));
        ExperimentResult r = session.runWith(DROPS_UPDATES, weakened(DROPS_UPDATES, null, null), e, 1);
        results.add(r);
        assertThat(r.violations()).as(r.toString()).anySatisfy(v -> assertThat(v).startsWith("convergence"));
    }

    @Test
    @Order(4)
    void withTheRateLimiterOffTheRequestBudgetIsExceeded() throws Exception {
        assumeWeakened(RATE_LIMITER_OFF);
        Experiment e = ChaosDocuments.read(ChaosDocumentsTest.home().resolve("deploy/chaos/network-delay-all.yaml"));
        // The limiter configured away (1000 requests/s), judged against the product's budget, under three waves.
        ExperimentResult r = session.runWith(RATE_LIMITER_OFF, withQps(product().withMain(ReplicaSpec.MAIN), "1000", "1000"),
                e, 3);
        results.add(r);
        assertThat(r.violations()).as(r.toString()).anySatisfy(v -> assertThat(v).startsWith("request budget"));
    }

    /** Runs the weakened build {@code name} only if selected (see the class comment); none is by default. */
    static void assumeWeakened(String name) {
        String chosen = System.getProperty("flotilla.chaos.weakened", "none");
        List<String> names = List.of(chosen.split(","));
        List<String> known = List.of(WRITE_FENCE_OFF, DROPS_UPDATES, RATE_LIMITER_OFF, "all", "none");
        if (!known.containsAll(names)) {
            throw new IllegalArgumentException("-Dflotilla.chaos.weakened takes a comma-separated list of " + known
                    + ", got '" + chosen + "'");
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(names.contains(name) || names.contains("all"),
                "weakened build " + name + " not selected (-Dflotilla.chaos.weakened=" + chosen
                        + "; chaos-tests/weakened.sh runs all three)");
    }

    static List<String> only() {
        String only = System.getProperty("flotilla.chaos.only", "");
        return only.isBlank() ? List.of() : List.of(only.split(","));
    }

    private static ReplicaSpec weakened(String weakening, String qps, String burst) {
        ReplicaSpec spec = product().withMain("dev.flotilla.manager.WeakenedRun", weakening);
        return qps == null ? spec : withQps(spec, qps, burst);
    }

    private static ReplicaSpec withQps(ReplicaSpec spec, String qps, String burst) {
        return spec.withRunArg("--qps", qps).withRunArg("--burst", burst);
    }

    private static Path resource(String name) throws Exception {
        return Path.of(LocalChaosTest.class.getResource("/" + name).toURI());
    }
}
