package dev.flotilla.core.planted.two;

/** Planted: the other half of a package cycle. */
public final class Two {
    public dev.flotilla.core.planted.one.One other() {
        return new dev.flotilla.core.planted.one.One();
    }
}
