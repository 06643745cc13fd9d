package dev.flotilla.sharding.planted;

/** Planted: sharding reaching resilience (ArchitectureTest.MODULES must report it). */
public final class UsesResilience {
    public Object guard() {
        return dev.flotilla.resilience.guard.GuardConfig.defaults();
    }
}
