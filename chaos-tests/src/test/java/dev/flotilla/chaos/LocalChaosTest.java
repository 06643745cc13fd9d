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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
 * Every experiment of deploy/chaos and chaos-tests/experiments run by the local engine on local clusters (each the
 * REAL API server, 3 flotilla run replicas behind the fault proxy), each judged from the audit log and the final state;
 * then each invariant shown able to fail against a deliberately weakened build. The reports go to
 * target/chaos-report/cluster-N.
 *
 * <p>The shipped experiments are dealt to {@value #CLUSTERS} clusters that run side by side, each experiment alone on
 * its cluster and judged from that cluster's own audit log: an experiment is mostly waiting (its fault's duration, then
 * the ownership deadline), and the replicas' request rate, not the CPU, bounds convergence. One after another they took
 * 717 s of the suite. Each cluster measures its own fault-free convergence, and with it its own T, while the other
 * starts.
 *
 * <p>Which weakened builds run: {@code -Dflotilla.chaos.weakened=} a comma-separated list of
 * {@value #WRITE_FENCE_OFF}, {@value #DROPS_UPDATES}, {@value #RATE_LIMITER_OFF}, or {@code all}, or
 * {@code none}. By default ({@code ./test.sh}) none: the three cost 144 s (47, 56 and 41) of a suite
 * that must stay under 45 minutes, and each need only be shown failing once. {@code chaos-tests/weakened.sh}
 * runs all three and writes their verdicts to {@code chaos-tests/results/weakened.md}; the audit-log checks
 * they exercise have their own unit tests ({@code SingleWriterCheckTest}, {@code RequestBudgetCheckTest}).
 * They run on the first cluster, alone.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalChaosTest {

    static final int REPLICAS = 3;
    /** How many clusters the shipped experiments are dealt to. */
    static final int CLUSTERS = 2;
    static final String WRITE_FENCE_OFF = "write-fence-off";
    static final String DROPS_UPDATES = "drops-updates";
    static final String RATE_LIMITER_OFF = "rate-limiter-off";
    /**
     * The clusters' seeds start here (cluster c gets SEED + c): the pods' names and the targets picked follow it.
     * {@code -Dflotilla.chaos.seed=N} runs another draw, as {@code chaos-tests/seeds.sh} does over many.
     */
    static final long SEED = Long.getLong("flotilla.chaos.seed", 20261204L);

    /** The shipped experiments this run selects, in the order of their reports. */
    List<Path> experiments;
    /** The clusters; the first also runs the weakened builds. */
    final List<ChaosSession> sessions = new ArrayList<>();
    /** Each cluster's results, in the order it ran them. */
    final List<List<ExperimentResult>> results = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        // -Dflotilla.chaos.only=pod-kill-one,etcd-kill runs those only, and no weakened build (while working on one).
        List<String> only = only();
        experiments = ChaosDocumentsTest.shipped().stream()
                .filter(f -> only.isEmpty() || only.contains(f.getFileName().toString().replace(".yaml", ""))).toList();
        int clusters = Math.max(1, Math.min(CLUSTERS, experiments.size()));
        Path work = Files.createDirectories(Path.of("target/chaos-work/" + System.currentTimeMillis()));
        // Started side by side; a cluster that failed to start stops the one that did.
        List<CompletableFuture<ChaosSession>> starting = new ArrayList<>();
        try (ExecutorService starts = Executors.newFixedThreadPool(clusters)) {
            for (int c = 0; c < clusters; c++) {
                Path dir = Files.createDirectories(work.resolve("cluster-" + (c + 1)));
                long seed = SEED + c;
                starting.add(CompletableFuture.supplyAsync(() -> startCluster(dir, seed), starts));
            }
        }
        List<Throwable> failures = new ArrayList<>();
        for (CompletableFuture<ChaosSession> s : starting) {
            try {
                sessions.add(s.join());
                results.add(java.util.Collections.synchronizedList(new ArrayList<>()));
            } catch (java.util.concurrent.CompletionException e) {
                failures.add(e.getCause());
            }
        }
        if (!failures.isEmpty()) {
            sessions.forEach(ChaosSession::close);
            sessions.clear();
            IllegalStateException e = new IllegalStateException("a chaos cluster did not start", failures.getFirst());
            failures.stream().skip(1).forEach(e::addSuppressed);
            throw e;
        }
    }

    private static ChaosSession startCluster(Path dir, long seed) {
        try {
            return ChaosSession.start(dir, REPLICAS, seed, product());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the cluster in " + dir, e);
        }
    }

    static ReplicaSpec product() {
        return ReplicaSpec.product(ProcessHandle.current().info().command().orElse("java"),
                System.getProperty("java.class.path"), ExperimentRunner.runArgs(), ReplicaSpec.DEBIAN_FAKETIME);
    }

    @AfterAll
    void stop() throws Exception {
        for (int c = 0; c < sessions.size(); c++) {
            ChaosSession session = sessions.get(c);
            List<ExperimentResult> mine = List.copyOf(results.get(c));
            Path dir = Files.createDirectories(Path.of("target/chaos-report/cluster-" + (c + 1)));
            Files.writeString(dir.resolve("chaos-report.json"), Reports.json(session.baseline(), mine));
            Files.writeString(dir.resolve("chaos-report.md"), Reports.markdown(session.baseline(), mine));
            Files.writeString(dir.resolve("chaos-report.html"), HtmlReport.render(session.baseline(), mine));
            session.close();
        }
    }

    /** A shipped experiment's document and its verdict. */
    record Outcome(ChaosPlan plan, ExperimentResult result) {
    }

    @TestFactory
    @Order(1)
    Stream<DynamicTest> everyShippedExperimentKeepsEveryInvariant() throws Exception {
        List<CompletableFuture<Outcome>> outcomes = experiments.stream().map(f -> new CompletableFuture<Outcome>()).toList();
        // Experiment i runs on cluster i mod CLUSTERS, in order; each dynamic test waits for its own.
        ExecutorService runners = Executors.newFixedThreadPool(sessions.size());
        for (int c = 0; c < sessions.size(); c++) {
            int cluster = c;
            runners.execute(() -> {
                for (int i = cluster; i < experiments.size(); i += sessions.size()) {
                    try {
                        ChaosPlan plan = ChaosDocuments.readPlan(experiments.get(i));
                        ExperimentResult r = sessions.get(cluster).run(plan);
                        results.get(cluster).add(r);
                        outcomes.get(i).complete(new Outcome(plan, r));
                    } catch (InterruptedException e) {
                        for (int j = i; j < experiments.size(); j += sessions.size()) {
                            outcomes.get(j).completeExceptionally(e);
                        }
                        return;
                    } catch (Exception | Error e) {
                        outcomes.get(i).completeExceptionally(e);
                    }
                }
            });
        }
        runners.shutdown();
        return java.util.stream.IntStream.range(0, experiments.size()).mapToObj(i -> DynamicTest.dynamicTest(
                experiments.get(i).getFileName() + " (cluster " + (i % sessions.size() + 1) + ")", () -> {
            Outcome outcome;
            try {
                outcome = outcomes.get(i).get();
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause();
            }
            ChaosPlan plan = outcome.plan();
            ExperimentResult r = outcome.result();
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
            r = first().runWith(WRITE_FENCE_OFF, weakened(WRITE_FENCE_OFF, "1", "1").withRunArg("--retry-period", "2s"), e, 1);
            if (r.singleWriterViolations() > 0) {
                break;
            }
            System.err.println("write-fence-off attempt " + attempt + ": no violation (" + r.violations() + ")");
        }
        results.getFirst().add(r);
        assertThat(r.singleWriterViolations()).as(r.violations().toString()).isPositive();
    }

    @Test
    @Order(3)
    void aReplicaThatDropsUpdatesIsReportedAsLosingThem() throws Exception {
        assumeWeakened(DROPS_UPDATES);
        Experiment e = ChaosDocuments.read(ChaosDocumentsTest.home().resolve("deploy/chaos/network-delay-all.yaml"));
        ExperimentResult r = first().runWith(DROPS_UPDATES, weakened(DROPS_UPDATES, null, null), e, 1);
        results.getFirst().add(r);
        assertThat(r.violations()).as(r.toString()).anySatisfy(v -> assertThat(v).startsWith("convergence"));
    }

    @Test
    @Order(4)
    void withTheRateLimiterOffTheRequestBudgetIsExceeded() throws Exception {
        assumeWeakened(RATE_LIMITER_OFF);
        Experiment e = ChaosDocuments.read(ChaosDocumentsTest.home().resolve("deploy/chaos/network-delay-all.yaml"));
        // The limiter configured away (1000 requests/s), judged against the product's budget, under three waves.
        ExperimentResult r = first().runWith(RATE_LIMITER_OFF, withQps(product().withMain(ReplicaSpec.MAIN), "1000", "1000"),
                e, 3);
        results.getFirst().add(r);
        assertThat(r.violations()).as(r.toString()).anySatisfy(v -> assertThat(v).startsWith("request budget"));
    }

    /** The cluster the weakened builds run on. */
    private ChaosSession first() {
        return sessions.getFirst();
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
