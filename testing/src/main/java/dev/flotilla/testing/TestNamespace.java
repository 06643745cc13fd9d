package dev.flotilla.testing;

import java.util.Objects;

/** The namespace created for one test and deleted after it. */
public record TestNamespace(String name) {

    public TestNamespace {
        Objects.requireNonNull(name, "name");
    }

    @Override
    public String toString() {
        return name;
    }
}
