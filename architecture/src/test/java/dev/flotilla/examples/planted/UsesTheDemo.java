package dev.flotilla.examples.planted;

/** Planted: the example controller reaching the demo (ArchitectureTest.MODULES must report it). */
public final class UsesTheDemo {
    public String name() {
        return dev.flotilla.demo.DemoCommand.class.getName();
    }
}
