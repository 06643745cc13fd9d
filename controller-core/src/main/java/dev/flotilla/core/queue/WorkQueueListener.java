package dev.flotilla.core.queue;

import java.time.Duration;

/**
 * What a {@link WorkQueue} reports as it works; the metrics binding implements it. Callbacks run
 * on the caller's thread, possibly under the queue's lock, so they must be quick and must not
 * call back into the queue.
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
