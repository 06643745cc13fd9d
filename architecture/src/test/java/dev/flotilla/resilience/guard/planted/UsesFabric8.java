package dev.flotilla.resilience.guard.planted;

import io.fabric8.kubernetes.client.http.HttpRequest;

/** Planted: the guard reading a fabric8 request itself (ArchitectureTest.GUARD_WITHOUT_FABRIC8 must report it). */
public final class UsesFabric8 {
    public String method(HttpRequest request) {
        return request.method();
    }
}
