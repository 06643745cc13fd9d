package dev.flotilla.manager;

import dev.flotilla.cli.Program;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import picocli.CommandLine;

/**
 * {@code flotilla} with a deliberately weakened {@code run}, for the chaos suite's proof that each
 * invariant can fail: the first argument names the weakening ({@code write-fence-off},
 * {@code drops-updates}), the rest are the CLI's. Only the tests start it.
 */
public final class WeakenedRun {

    private WeakenedRun() {
    }

    public static void main(String[] args) {
        Set<RunCommand.Weakening> weakenings = EnumSet.noneOf(RunCommand.Weakening.class);
        for (String w : args[0].split(",")) {
            weakenings.add(RunCommand.Weakening.valueOf(w.toUpperCase(java.util.Locale.ROOT).replace('-', '_')));
        }
        CommandLine.IFactory defaults = CommandLine.defaultFactory();
        CommandLine.IFactory factory = new CommandLine.IFactory() {
            @Override
            @SuppressWarnings("unchecked")
            public <K> K create(Class<K> cls) throws Exception {
                return cls == RunCommand.class ? (K) new RunCommand(weakenings) : defaults.create(cls);
            }
        };
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        System.exit(Program.execute(new Main(), factory, rest, System.out, System.err));
    }
}
