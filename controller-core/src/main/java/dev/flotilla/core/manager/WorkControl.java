package dev.flotilla.core.manager;

import dev.flotilla.core.cache.Partition;
import dev.flotilla.core.reconcile.ObjectKey;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

/**
 * What a started {@link Extension} may do to the manager's work, across every controller. Handed
 * to {@link Extension#start}; the only way to drain or interrupt reconciles from outside a
 * controller.
 *
 * <pre>{@code
 * WorkControl work; // handed to the extension by Extension.start
 * Predicate<ObjectKey> shop = key -> key.namespace().equals("shop");
 * work.rescope().join();                    // the extension's scope changed: watch what it says now
 * work.enqueueCached(shop);                 // keys refused earlier are admitted now
 * if (!work.awaitIdle(shop, Duration.ofSeconds(1))) {
 *     work.interrupt(shop);
 * }
 * }</pre>
 */
public interface WorkControl {

    /** Queues every cached primary whose key matches (events refused by the gate earlier); returns how many. */
    int enqueueCached(Predicate<ObjectKey> keys);

    /**
     * Waits until no reconcile of a matching key is in flight in any controller, all within one
     * {@code timeout}; false if one still ran at the end.
     */
    boolean awaitIdle(Predicate<ObjectKey> keys, Duration timeout) throws InterruptedException;

    /** Interrupts the reconciles in flight on matching keys; returns how many. */
    int interrupt(Predicate<ObjectKey> keys);

    /**
     * Applies the extension's informer scope again (what it returns changed); completes when every
     * newly watched partition has synced. Fails if the extension supplied no scope.
     */
    CompletableFuture<Void> rescope();

    /** How many primaries each namespace has in the caches now ("" for cluster-scoped ones). */
    Map<String, Long> countCachedByNamespace();

    /** Completes when every watched partition matching {@code which} has synced its first LIST. */
    CompletableFuture<Void> whenSynced(Predicate<Partition> which);

    /**
     * The extension lost something it cannot work without (another replica took its identity): the
     * manager abandons every extension, drains and stops, and {@link Manager#failure()} reports
     * {@code reason}. Returns at once.
     */
    void fail(String reason);
}
