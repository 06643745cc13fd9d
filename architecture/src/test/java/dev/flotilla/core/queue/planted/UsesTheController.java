package dev.flotilla.core.queue.planted;

import dev.flotilla.core.controller.KeyGate;

/** Planted: the work queue reaching up to the controller layer (ArchitectureTest.CORE_PACKAGES must report it). */
public final class UsesTheController {
    public KeyGate gate() {
        return KeyGate.admitAll();
    }
}
