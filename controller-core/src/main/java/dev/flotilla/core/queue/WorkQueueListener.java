package dev.flotilla.core.queue;

import java.time.Duration;

/**
 * What a {@link WorkQueue} reports as it works; the metrics binding implements it. Callbacks run
 * on the caller's thread after the queue has released its lock, so slow metrics never hold up
 * other workers; they should still be quick.
 */
public interface WorkQueueListener {

    /** A key entered the queue (a duplicate of a queued key does not count). */
    default void added() {
    }

    /** A key was handed to a worker after waiting {@code waited} in the queue. */
    default void started(Duration waited) {
    }

    /** A worker finished a key after {@code worked}. */
    default void finished(Duration worked) {
    }

    /** A key was re-added with rate limiting (a retry). */
    default void retried() {
    }

    WorkQueueListener NONE = new WorkQueueListener() {
    };
}
