package dev.flotilla.chaos.engine;

import dev.flotilla.chaos.experiment.ChaosPlan;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A local chaos run: the topology started, the workload populated, the fault-free convergence
 * measured; then experiments one after another. Closing it stops everything it started.
 *
 * <pre>{@code
 * ReplicaSpec spec = ReplicaSpec.product("java", System.getProperty("java.class.path"), ExperimentRunner.runArgs(),
 *         ReplicaSpec.DEBIAN_FAKETIME);
 * try (ChaosSession session = ChaosSession.start(Path.of("target/chaos"), 3, 1L, spec)) {
 *     ExperimentResult r = session.run(
 *             dev.flotilla.chaos.experiment.ChaosDocuments.read(Path.of("deploy/chaos/pod-kill-one.yaml")));
 *     System.out.println(r.holds() + " " + r.convergence());
 * }
 * }</pre>
 */
public final class ChaosSession implements AutoCloseable {

    /** The workload: namespaces and sources per namespace. */
    public static final int NAMESPACES = 8;
    public static final int SOURCES_PER_NAMESPACE = 8;
    /** The name of the product's build in reports. */
    public static final String PRODUCT_BUILD = "flotilla";

    private final LocalTopology topology;
    private final ExperimentRunner runner;
    private final ReplicaSpec product;

    private ChaosSession(LocalTopology topology, ExperimentRunner runner, ReplicaSpec product) {
        this.topology = topology;
        this.runner = runner;
        this.product = product;
    }

    public static ChaosSession start(Path workDir, int replicas, long seed, ReplicaSpec spec) throws InterruptedException {
        LocalTopology topology = LocalTopology.start(workDir, seed, spec);
        try {
            Workload workload = new Workload(topology.admin(), NAMESPACES, SOURCES_PER_NAMESPACE);
            ExperimentRunner runner = new ExperimentRunner(topology, workload, replicas, seed);
            runner.prepare();
            return new ChaosSession(topology, runner, spec);
        } catch (RuntimeException | InterruptedException e) {
            topology.close();
            throw e;
        }
    }

    public Duration baseline() {
        return runner.baseline();
    }

    public Duration convergenceLimit() {
        return runner.convergenceLimit();
    }

    /** The product's build, to derive weakened ones from. */
    public ReplicaSpec product() {
        return product;
    }

    public LocalTopology topology() {
        return topology;
    }

    /** Runs one document (an experiment, a Schedule or a Workflow) on the product's build. */
    public ExperimentResult run(ChaosPlan plan) throws InterruptedException {
        return runner.run(plan, PRODUCT_BUILD);
    }

    /**
     * Runs one experiment on another build (every replica restarted with it first), then puts the
     * product's build back.
     */
    public ExperimentResult runWith(String buildName, ReplicaSpec build, ChaosPlan plan, int waves) throws InterruptedException {
        topology.useBuild(build);
        try {
            return runner.run(plan, buildName, waves);
        } finally {
            topology.useBuild(product);
        }
    }

    @Override
    public void close() {
        topology.close();
    }
}
