package dev.flotilla.resilience.guard.planted;

import dev.flotilla.resilience.fabric8.GuardedClients;

/** Planted: the guard reaching its own fabric8 adapter (ArchitectureTest.GUARD_WITHOUT_FABRIC8 must report it). */
public final class UsesTheAdapter {
    public Class<?> adapter() {
        return GuardedClients.class;
    }
}
