package dev.flotilla.manager;

import dev.flotilla.manager.cli.CliException;
import dev.flotilla.manager.cli.CommandContext;
import dev.flotilla.manager.cli.ExitCode;
import dev.flotilla.manager.cli.Logging;
import dev.flotilla.manager.demo.DemoCommand;
import dev.flotilla.manager.shards.ShardsCommand;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The {@code flotilla} command line. {@link #main} exits the JVM; {@link #execute} runs the same
 * thing in-process and returns the exit code, for tests.
 *
 * <p>Error contract: every failure prints exactly one line, {@code flotilla: <problem>}, on stderr
 * and exits with an {@link ExitCode}; stack traces appear only with {@code --debug}.
 */
@Command(name = "flotilla", mixinStandardHelpOptions = true, versionProvider = Version.class,
        subcommands = {RunCommand.class, ShardsCommand.class, DemoCommand.class},
        description = "Runs Kubernetes controllers built on Flotilla's controller-core.",
        footer = {"", "Exit codes: 0 ok, 1 failure, 2 usage, 3 configuration (kubeconfig), "
                + "4 API server unreachable, 5 missing permission, 6 cannot join or stay in the sharding group."})
public final class Main implements Callable<Integer>, CommandContext {

    @Option(names = "--debug", scope = ScopeType.INHERIT,
            description = "Log at DEBUG and print stack traces with errors.")
    boolean debug;

    @Spec
    CommandSpec spec;

    private final PrintStream out;
    private final PrintStream err;
    private final Logging logging = new Logging();

    Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(execute(args, System.out, System.err));
    }

    /** Runs the CLI without exiting the JVM; returns the exit code. */
    public static int execute(String[] args, PrintStream out, PrintStream err) {
        Main main = new Main(out, err);
        CommandLine cl = new CommandLine(main);
        cl.setOut(new PrintWriter(out, true, charsetOf(out)));
        cl.setErr(new PrintWriter(err, true, charsetOf(err)));
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("flotilla: " + usageMessage(ex));
            err.flush();
            return ExitCode.USAGE.code();
        });
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            if (ex instanceof CliException cli) {
                err.println("flotilla: " + oneLine(cli.getMessage()));
                if (main.debug) {
                    ex.printStackTrace(err);
                }
                err.flush();
                return cli.exitCode().code();
            }
            err.println("flotilla: unexpected error: " + oneLine(String.valueOf(ex)) + (main.debug ? "" : " (run with --debug for details)"));
            if (main.debug) {
                ex.printStackTrace(err);
            }
            err.flush();
            return ExitCode.FAILURE.code();
        });
        try {
            return cl.execute(args);
        } finally {
            main.logging.close();
            out.flush();
            err.flush();
        }
    }

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "missing command: run, shards or demo");
    }

    /** Called first by every subcommand: applies {@code --debug}. */
    @Override
    public Logging logging() {
        if (debug) {
            logging.debug();
        }
        return logging;
    }

    @Override
    public boolean debug() {
        return debug;
    }

    @Override
    public PrintStream out() {
        return out;
    }

    @Override
    public PrintStream err() {
        return err;
    }

    private static String usageMessage(ParameterException ex) {
        CommandLine cl = ex.getCommandLine();
        String message = oneLine(ex.getMessage());
        if (ex instanceof CommandLine.UnmatchedArgumentException u && !cl.getSubcommands().isEmpty()
                && cl.getParseResult() != null && !u.getUnmatched().isEmpty()
                && !u.getUnmatched().get(0).startsWith("-")) {
            message = "unknown command '" + u.getUnmatched().get(0) + "' (commands: "
                    + String.join(", ", cl.getSubcommands().keySet()) + ")";
        }
        return message + " (try '" + cl.getCommandSpec().qualifiedName() + " --help')";
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*[\\r\\n]+\\s*", "; ");
    }

    private static Charset charsetOf(PrintStream s) {
        return s.charset();
    }
}
