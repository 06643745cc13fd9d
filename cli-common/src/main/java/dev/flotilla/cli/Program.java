package dev.flotilla.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;

/**
 * The top-level command of a flotilla program (the CLI, the demo): {@code --debug}, the output
 * streams, the logging, and the one error contract they share. Every failure prints exactly one
 * line, {@code flotilla: <problem>}, on stderr and exits with an {@link ExitCode}; stack traces
 * appear only with {@code --debug}.
 *
 * <pre>{@code
 * @CommandLine.Command(name = "flotilla demo", mixinStandardHelpOptions = true)
 * final class DemoMain extends Program implements Callable<Integer> {
 *     public Integer call() { logging(); out().println("hello"); return 0; }
 *     public static void main(String[] args) { System.exit(Program.execute(new DemoMain(), args, System.out, System.err)); }
 * }
 * }</pre>
 */
public abstract class Program implements CommandContext {

    /** What every message on stderr starts with. */
    public static final String PREFIX = "flotilla: ";

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Log at DEBUG and print stack traces with errors.")
    boolean debug;

    /** How log lines are written on stderr. */
    public enum LogFormat { text, json }

    @Option(names = "--log-format", scope = ScopeType.INHERIT, paramLabel = "text|json", defaultValue = "text",
            description = "Log lines as text, or as one JSON object per line (ts, level, logger, thread, msg, then the "
                    + "event's fields) for log pipelines. Default: ${DEFAULT-VALUE}.")
    LogFormat logFormat = LogFormat.text;

    private PrintStream out = System.out;
    private PrintStream err = System.err;
    private final Logging logging = new Logging();

    /** Runs {@code program} on {@code args} without exiting the JVM; returns the exit code. */
    public static int execute(Program program, String[] args, PrintStream out, PrintStream err) {
        return execute(program, CommandLine.defaultFactory(), args, out, err);
    }

    /** As {@link #execute(Program, String[], PrintStream, PrintStream)}, with the subcommands made by {@code factory}. */
    public static int execute(Program program, CommandLine.IFactory factory, String[] args, PrintStream out, PrintStream err) {
        program.out = out;
        program.err = err;
        CommandLine cl = new CommandLine(program, factory);
        cl.setOut(new PrintWriter(out, true, out.charset()));
        cl.setErr(new PrintWriter(err, true, err.charset()));
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println(PREFIX + usageMessage(ex));
            err.flush();
            return ExitCode.USAGE.code();
        });
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            if (ex instanceof CliException cli) {
                err.println(PREFIX + oneLine(cli.getMessage()));
                if (program.debug) {
                    ex.printStackTrace(err);
                }
                err.flush();
                return cli.exitCode().code();
            }
            err.println(PREFIX + "unexpected error: " + oneLine(String.valueOf(ex))
                    + (program.debug ? "" : " (run with --debug for details)"));
            if (program.debug) {
                ex.printStackTrace(err);
            }
            err.flush();
            return ExitCode.FAILURE.code();
        });
        try {
            return cl.execute(args);
        } finally {
            program.logging.close();
            out.flush();
            err.flush();
        }
    }

    /** Called first by every command: applies {@code --debug} and {@code --log-format}. */
    @Override
    public Logging logging() {
        if (debug) {
            logging.debug();
        }
        if (logFormat == LogFormat.json) {
            logging.json();
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

    /** {@code s} on one line: line breaks become "; ". */
    public static String oneLine(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*[\\r\\n]+\\s*", "; ");
    }
}
