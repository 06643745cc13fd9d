package dev.flotilla.tuning.controller;

import dev.flotilla.core.controller.Predicate;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.reconcile.Reconciler;
import dev.flotilla.tuning.api.ResourceTuningPolicy;
import dev.flotilla.tuning.signals.PrometheusClient;
import dev.flotilla.tuning.signals.PrometheusSignals;
import dev.flotilla.tuning.signals.SignalMetrics;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Registers the resource tuner on a manager. With sharding installed, the manager's gate admits
 * only the policies of namespaces in this replica's shards, so each replica tunes its shards only.
 *
 * <pre>{@code
 * ResourceTuner.register(manager, URI.create("http://prometheus:9090"), killSwitch, 2, UnaryOperator.identity());
 * }</pre>
 */
public final class ResourceTuner {

    public static final String CONTROLLER_NAME = "resource-tuner";
    /** How far back signals are read, and at which resolution. */
    public static final Duration WINDOW = Duration.ofHours(24);
    public static final Duration STEP = Duration.ofMinutes(1);
    public static final Duration RATE_WINDOW = Duration.ofMinutes(5);

    /** The API access the tuner needs: resource, verb (for the startup RBAC check). */
    public static final List<String[]> REQUIRED_ACCESS = List.of(
            new String[] {"flotilla.dev", "resourcetuningpolicies", "list"},
            new String[] {"flotilla.dev", "resourcetuningpolicies", "watch"},
            new String[] {"flotilla.dev", "resourcetuningpolicies/status", "update"},
            new String[] {"apps", "deployments", "list"},
            new String[] {"apps", "deployments", "patch"},
            new String[] {"apps", "statefulsets", "list"},
            new String[] {"apps", "statefulsets", "patch"},
            new String[] {"", "pods", "list"},
            new String[] {"", "pods/resize", "patch"},
            new String[] {"", "nodes", "list"},
            new String[] {"", "nodes", "get"},
            new String[] {"", "limitranges", "list"},
            new String[] {"", "resourcequotas", "list"});

    private ResourceTuner() {
    }

    /**
     * @param wrap lets the caller decorate the reconciler (e.g. {@code sharding::audited})
     */
    public static void register(Manager manager, URI prometheus, KillSwitch killSwitch, int workers,
            UnaryOperator<Reconciler<ResourceTuningPolicy>> wrap) {
        PrometheusSignals signals = new PrometheusSignals(new PrometheusClient(prometheus, Duration.ofSeconds(10)),
                SignalMetrics.defaults(), WINDOW, STEP, RATE_WINDOW);
        register(manager, new TuningReconciler(manager.client(), signals, TuningSettings.defaults().withKillSwitch(killSwitch)),
                workers, wrap);
    }

    public static void register(Manager manager, TuningReconciler reconciler, int workers,
            UnaryOperator<Reconciler<ResourceTuningPolicy>> wrap) {
        manager.controller(ResourceTuningPolicy.class).named(CONTROLLER_NAME).workers(workers)
                // Status writes must not trigger a pass: spec changes and the resync do.
                .withPredicate(Predicate.generationChanged())
                .complete(wrap.apply(reconciler));
    }
}
