package dev.flotilla.core.manager;

import dev.flotilla.core.cache.InformerScope;
import dev.flotilla.core.controller.KeyGate;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Objects;
import java.util.Optional;

/**
 * Something that plugs into a {@link Manager}'s lifecycle, as controller-runtime's
 * {@code mgr.Add(Runnable)} does: it may narrow which keys are worked on (a {@link KeyGate}) and
 * which partitions the informers watch (an {@link InformerScope}), and the manager calls it in
 * one fixed order that the manager alone owns:
 *
 * <ol>
 *   <li>{@link #install} from {@link Manager#install}, before the manager starts; the returned
 *       seams apply from then on, so informers never list more than the scope allows.</li>
 *   <li>{@link #start} once every cache has synced and the workers run, in install order, with a
 *       {@link WorkControl} over the manager's controllers. If it throws, {@link Manager#start}
 *       abandons it and every extension started before it, stops the manager and throws
 *       {@link ExtensionStartException}.</li>
 *   <li>{@link #leave} on {@link Manager#stop} (SIGTERM), in reverse order, before the informers
 *       stop and the queues drain: the graceful hand-over.</li>
 *   <li>{@link #abandon}, in reverse order, instead of {@code leave} after a failed start or when
 *       an extension reports a fatal loss through {@link WorkControl#fail}: stop at once, hand
 *       nothing over. The manager then stops as it would on SIGTERM.</li>
 * </ol>
 *
 * Every method is called at most once.
 *
 * <pre>{@code
 * Manager manager = new Manager(client, ManagerOptions.defaults(), KeyGate.admitAll());
 * manager.install(new Extension() {
 *     public String name() { return "only-shop"; }
 *     public Seams install(ExtensionContext context) { return Seams.gate(key -> key.namespace().equals("shop")); }
 *     public void start(WorkControl work) { work.enqueueCached(key -> key.namespace().equals("shop")); }
 *     public void leave() { }
 *     public void abandon() { }
 * });
 * manager.start();
 * }</pre>
 */
public interface Extension {

    /** For logs and errors: a short name such as {@code sharding}. */
    String name();

    /** Called once by {@link Manager#install}: what the extension may use, and the seams it narrows. */
    Seams install(ExtensionContext context);

    /** Called once the manager runs; may block (joining a group) and may throw to refuse the start. */
    void start(WorkControl work) throws Exception;

    /** Graceful stop, before the manager drains its queues; returns when the extension is done. */
    void leave();

    /** Stop at once without handing anything over (a failed start, or a fatal loss). */
    void abandon();

    /** What the manager lends an extension. */
    record ExtensionContext(KubernetesClient client, MeterRegistry registry) {
        public ExtensionContext {
            Objects.requireNonNull(client, "client");
            Objects.requireNonNull(registry, "registry");
        }
    }

    /**
     * What an extension narrows: a gate every key must also pass, and optionally the informer scope
     * (only one installed extension may supply a scope).
     */
    record Seams(KeyGate gate, Optional<InformerScope> scope) {
        public Seams {
            Objects.requireNonNull(gate, "gate");
            Objects.requireNonNull(scope, "scope");
        }

        public static Seams none() {
            return new Seams(KeyGate.admitAll(), Optional.empty());
        }

        public static Seams gate(KeyGate gate) {
            return new Seams(gate, Optional.empty());
        }

        public static Seams of(KeyGate gate, InformerScope scope) {
            return new Seams(gate, Optional.of(scope));
        }
    }
}
