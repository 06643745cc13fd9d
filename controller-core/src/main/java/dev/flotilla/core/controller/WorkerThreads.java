package dev.flotilla.core.controller;

/** Which kind of thread runs a controller's workers. */
public enum WorkerThreads {
    /** Cheap threads; best when reconcilers block on I/O, which they almost always do. */
    VIRTUAL,
    /** Classic platform threads, for reconcilers that pin carriers (long synchronized I/O, JNI). */
    PLATFORM
}
