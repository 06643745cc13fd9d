package dev.flotilla.core.planted.one;

/** Planted: one half of a package cycle (ArchitectureTest.NO_PACKAGE_CYCLES must report it). */
public final class One {
    public dev.flotilla.core.planted.two.Two other() {
        return new dev.flotilla.core.planted.two.Two();
    }
}
