package dev.flotilla.core.planted;

import java.util.concurrent.CompletableFuture;

/** Planted: an asynchronous step without an executor (ArchitectureTest.NO_WORK_ON_THE_COMMON_POOL must report it). */
public final class OnTheCommonPool {
    public CompletableFuture<String> name() {
        return CompletableFuture.supplyAsync(() -> "on the common pool");
    }
}
