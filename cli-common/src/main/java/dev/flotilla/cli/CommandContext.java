package dev.flotilla.cli;

import java.io.PrintStream;

/**
 * What every {@code flotilla} subcommand gets from the top-level command: its streams, the
 * logging it configured and whether {@code --debug} was given. A subcommand declares
 * {@code @ParentCommand CommandContext context;} and so needs nothing else of the top-level
 * command (which lists the subcommands, so the reverse would be a package cycle).
 *
 * <pre>{@code
 * @CommandLine.Command(name = "status")
 * class StatusCommand implements Callable<Integer> {
 *     @CommandLine.ParentCommand
 *     CommandContext context;
 *
 *     public Integer call() {
 *         context.logging();
 *         context.out().println("done");
 *         return 0;
 *     }
 * }
 * }</pre>
 */
public interface CommandContext {

    /** The logging set up for this run (configured on first use). */
    Logging logging();

    boolean debug();

    PrintStream out();

    PrintStream err();
}
