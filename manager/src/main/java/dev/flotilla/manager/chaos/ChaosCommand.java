package dev.flotilla.manager.chaos;

import dev.flotilla.cli.CommandContext;
import dev.flotilla.cli.Logging;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code flotilla chaos}: {@code verify} judges a chaos run from the API server's audit log.
 * {@code chaos run} (the faults themselves) is its own program, started by the {@code ./flotilla}
 * launcher from the chaos jar, so the CLI that ships carries no fault injection; here it only
 * says so.
 */
@Command(name = "chaos", mixinStandardHelpOptions = true,
        subcommands = {VerifyCommand.class, ChaosCommand.Run.class},
        description = {"Judge a chaos run from the API server's audit log (verify).",
                "The run itself is the chaos jar's: ./flotilla chaos run FILE."})
public final class ChaosCommand implements Callable<Integer>, CommandContext {

    @ParentCommand
    CommandContext main;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "missing command: verify (the run itself: ./flotilla chaos run FILE)");
    }

    // The subcommands reach the program's streams and logging through this command, their parent.
    @Override
    public Logging logging() {
        return main.logging();
    }

    @Override
    public boolean debug() {
        return main.debug();
    }

    @Override
    public PrintStream out() {
        return main.out();
    }

    @Override
    public PrintStream err() {
        return main.err();
    }

    /** {@code flotilla chaos run}: not this program's; one line saying whose it is (exit 2). */
    @Command(name = "run", description = "Not part of this program: the chaos jar runs it (./flotilla chaos run FILE).")
    static final class Run implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Parameters(arity = "0..*", paramLabel = "ARG", description = "Ignored.")
        List<String> ignored;

        @Override
        public Integer call() {
            throw new ParameterException(spec.commandLine(), "'chaos run' is run by the chaos jar, not by this program: "
                    + "./flotilla chaos run FILE");
        }
    }
}
