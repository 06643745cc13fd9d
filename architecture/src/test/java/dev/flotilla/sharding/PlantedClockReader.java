package dev.flotilla.sharding;

/** Planted: a state machine reading the real clock (ArchitectureTest.STATE_MACHINES_ON_PORTS must report it). */
@OnPorts
public final class PlantedClockReader {
    public long now() {
        return System.nanoTime();
    }
}
