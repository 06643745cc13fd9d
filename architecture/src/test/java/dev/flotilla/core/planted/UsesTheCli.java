package dev.flotilla.core.planted;

/** Planted: controller-core reaching the CLI (ArchitectureTest.MODULES must report it). */
public final class UsesTheCli {
    public String name() {
        return dev.flotilla.manager.Main.class.getName();
    }
}
