package dev.flotilla.manager;

import dev.flotilla.cli.ProgramRun;

/** Runs the CLI in-process and captures what it prints. */
public final class Cli {

    private Cli() {
    }

    public static ProgramRun.Result run(String... args) {
        return ProgramRun.run(Main::execute, args);
    }
}
