package dev.flotilla.bench.planted;

/** Planted: the benchmarks reaching the CLI (ArchitectureTest.MODULES must report it). */
public final class UsesTheCli {
    public String name() {
        return dev.flotilla.manager.Main.class.getName();
    }
}
