package dev.flotilla.manager;

import dev.flotilla.cli.ExitCode;
import dev.flotilla.cli.Program;
import dev.flotilla.cli.Version;
import dev.flotilla.manager.chaos.ChaosCommand;
import dev.flotilla.manager.shards.ShardsCommand;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code flotilla} command line: {@code run}, {@code shards} and {@code chaos verify}. {@link #main} exits the JVM;
 * {@link #execute} runs the same thing in-process and returns the exit code, for tests. The demo is
 * its own program (module {@code demo}): the {@code ./flotilla} launcher hands {@code flotilla demo}
 * to its jar, so this one carries no test backend.
 *
 * <p>Error contract ({@link Program}): every failure prints exactly one line,
 * {@code flotilla: <problem>}, on stderr and exits with an {@link ExitCode}; stack traces appear
 * only with {@code --debug}.
 */
@Command(name = "flotilla", mixinStandardHelpOptions = true, versionProvider = Version.class,
        subcommands = {RunCommand.class, ShardsCommand.class, ChaosCommand.class},
        description = {"Runs Kubernetes controllers built on Flotilla's controller-core.",
                "The demo is its own program: ./flotilla demo (or java -jar demo/target/flotilla-demo.jar)."},
        footer = {"", "Exit codes: 0 ok, 1 failure, 2 usage, 3 configuration (kubeconfig, --config), "
                + "4 API server unreachable, 5 missing permission, 6 cannot join or stay in the sharding group."})
public final class Main extends Program implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    Main() {
    }

    public static void main(String[] args) {
        System.exit(execute(args, System.out, System.err));
    }

    /** Runs the CLI without exiting the JVM; returns the exit code. */
    public static int execute(String[] args, PrintStream out, PrintStream err) {
        return Program.execute(new Main(), args, out, err);
    }

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "missing command: run, shards or chaos (the demo: ./flotilla demo)");
    }
}
