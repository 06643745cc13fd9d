package dev.flotilla.chaos;

import dev.flotilla.chaos.engine.ChaosSession;
import dev.flotilla.chaos.engine.ExperimentResult;
import dev.flotilla.chaos.engine.HtmlReport;
import dev.flotilla.chaos.engine.ExperimentRunner;
import dev.flotilla.chaos.engine.Reports;
import dev.flotilla.chaos.engine.ReplicaSpec;
import dev.flotilla.chaos.experiment.ChaosDocuments;
import dev.flotilla.chaos.experiment.ChaosPlan;
import dev.flotilla.chaos.experiment.InvalidExperimentException;
import dev.flotilla.cli.CliException;
import dev.flotilla.cli.ExitCode;
import dev.flotilla.cli.Program;
import dev.flotilla.testing.ApiServerBinaries;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code flotilla chaos run FILE...}: carries out Chaos Mesh experiments on a local cluster it
 * starts (a real kube-apiserver and etcd, {@code flotilla run} replicas behind the fault proxy, a
 * workload of mirrored ConfigMaps), judges each from the API server's audit log and the final
 * state, and writes JSON and Markdown reports. Exit 0 when every invariant held, 1 when one was
 * violated, 2 on a usage error, 3 when a document is refused or the machine lacks what it needs.
 */
@Command(name = "flotilla chaos", mixinStandardHelpOptions = true,
        description = "Runs Chaos Mesh experiments against a local cluster with flotilla replicas and judges the invariants.",
        subcommands = {ChaosCommand.Run.class})
public final class ChaosCommand extends Program implements Callable<Integer> {

    public static void main(String[] args) {
        System.exit(Program.execute(new ChaosCommand(), args, System.out, System.err));
    }

    @Override
    public Integer call() {
        throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "missing command: run FILE...");
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "Runs each experiment file in turn on one local cluster; prints the verdict and the figures.")
    static final class Run implements Callable<Integer> {

        @picocli.CommandLine.ParentCommand
        ChaosCommand main;

        @Parameters(arity = "1..*", paramLabel = "FILE", description = "Chaos Mesh documents (deploy/chaos/*.yaml: experiments, Schedules, Workflows) or ClusterChaos")
        List<Path> files;

        @Option(names = "--replicas", defaultValue = "3", description = "Replica pods (default 3).")
        int replicas;

        @Option(names = "--seed", defaultValue = "1", description = "Seeds pod names and the modes' random picks (default 1).")
        long seed;

        @Option(names = "--report-dir", defaultValue = "chaos-report", description = "Where chaos-report.json and .md go.")
        Path reportDir;

        @Override
        public Integer call() throws Exception {
            main.logging();
            if (replicas < 1 || replicas > 10) {
                throw new CliException(ExitCode.USAGE, "--replicas must be 1-10, got " + replicas);
            }
            // Every document is read before anything starts: one refused, none runs.
            List<ChaosPlan> experiments = new ArrayList<>();
            for (Path f : files) {
                try {
                    experiments.add(ChaosDocuments.readPlan(f));
                } catch (InvalidExperimentException e) {
                    throw new CliException(ExitCode.CONFIG, e.getMessage());
                }
            }
            try {
                ApiServerBinaries.require();
            } catch (RuntimeException e) {
                throw new CliException(ExitCode.CONFIG, "no local kube-apiserver: " + e.getMessage());
            }
            ReplicaSpec spec;
            try {
                spec = ReplicaSpec.product(ProcessHandle.current().info().command().orElse("java"),
                        System.getProperty("java.class.path"), ExperimentRunner.runArgs(), ReplicaSpec.DEBIAN_FAKETIME);
            } catch (IllegalArgumentException e) {
                throw new CliException(ExitCode.CONFIG, e.getMessage());
            }
            Path work = Files.createTempDirectory("flotilla-chaos-");
            List<ExperimentResult> results = new ArrayList<>();
            java.time.Duration baseline;
            try (ChaosSession session = ChaosSession.start(work, replicas, seed, spec)) {
                baseline = session.baseline();
                main.out().printf("flotilla chaos: %d replicas, fault-free convergence %.1f s, T = %.1f s%n", replicas,
                        baseline.toMillis() / 1000.0, session.convergenceLimit().toMillis() / 1000.0);
                for (ChaosPlan e : experiments) {
                    ExperimentResult r;
                    try {
                        r = session.run(e);
                    } catch (InvalidExperimentException ex) {
                        throw new CliException(ExitCode.CONFIG, ex.getMessage());
                    }
                    results.add(r);
                    main.out().printf("%-28s %-26s %s converged %s s, single-writer violations %d, peak %d requests/10 s "
                                    + "(budget %d), longest unowned %.1f s%n", r.experiment(), r.action(),
                            r.holds() ? "HOLDS   " : "VIOLATED", r.convergence() == null ? "never"
                                    : String.format(java.util.Locale.ROOT, "%.1f", r.convergence().toMillis() / 1000.0),
                            r.singleWriterViolations(), r.peakRequestsPer10s(), (int) r.requestBudget(), r.unownedSeconds());
                    r.violations().forEach(v -> main.out().println("  violated: " + v));
                }
            }
            write(reportDir.resolve("chaos-report.json"), Reports.json(baseline, results));
            write(reportDir.resolve("chaos-report.md"), Reports.markdown(baseline, results));
            write(reportDir.resolve("chaos-report.html"), HtmlReport.render(baseline, results));
            main.out().println("flotilla chaos: reports in " + reportDir.toAbsolutePath());
            return results.stream().allMatch(ExperimentResult::holds) ? ExitCode.OK.code() : ExitCode.FAILURE.code();
        }

        private static void write(Path file, String text) {
            try {
                Files.createDirectories(file.toAbsolutePath().getParent());
                Files.writeString(file, text);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + file, e);
            }
        }
    }
}
