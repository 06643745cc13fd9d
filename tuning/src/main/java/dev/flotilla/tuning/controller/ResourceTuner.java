package dev.flotilla.tuning.controller;

import dev.flotilla.core.rbac.ApiPermission;
import dev.flotilla.core.controller.EventPredicate;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.reconcile.Reconciler;
import dev.flotilla.tuning.api.ResourceTuningPolicy;
import dev.flotilla.tuning.signals.PrometheusClient;
import dev.flotilla.tuning.signals.PrometheusSettings;
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
 * KillSwitch killSwitch = new KillSwitch(client, "flotilla-system");
 * ResourceTuner.register(manager, URI.create("http://prometheus:9090"), killSwitch, 2, UnaryOperator.identity());
 * }</pre>
 */
public final class ResourceTuner {

    public static final String CONTROLLER_NAME = "resource-tuner";
    /** How far back signals are read, and at which resolution. */
    public static final Duration WINDOW = Duration.ofHours(24);
    public static final Duration STEP = Duration.ofMinutes(1);
    public static final Duration RATE_WINDOW = Duration.ofMinutes(5);

    /** The RBAC permissions the tuner needs, all namespaces (what the startup check asks for). */
    public static final List<ApiPermission> REQUIRED_PERMISSIONS = List.of(
            new ApiPermission("list", "flotilla.dev", "resourcetuningpolicies"),
            new ApiPermission("watch", "flotilla.dev", "resourcetuningpolicies"),
            new ApiPermission("update", "flotilla.dev", "resourcetuningpolicies/status"),
            new ApiPermission("list", "apps", "deployments"),
            new ApiPermission("patch", "apps", "deployments"),
            new ApiPermission("list", "apps", "statefulsets"),
            new ApiPermission("patch", "apps", "statefulsets"),
            ApiPermission.core("list", "pods"),
            ApiPermission.core("patch", "pods/resize"),
            ApiPermission.core("list", "nodes"),
            ApiPermission.core("get", "nodes"),
            ApiPermission.core("list", "limitranges"),
            ApiPermission.core("list", "resourcequotas"),
            // The overhead a template's RuntimeClass will give its pods (ClusterFacts.runtimeClassOverhead).
            new ApiPermission("get", "node.k8s.io", "runtimeclasses"));

    private ResourceTuner() {
    }

    /**
     * @param wrap lets the caller decorate the reconciler (e.g. {@code sharding::audited})
     */
    public static void register(Manager manager, URI prometheus, KillSwitch killSwitch, int workers,
            UnaryOperator<Reconciler<ResourceTuningPolicy>> wrap) {
        // Its breaker's and rate limiter's metrics go where the API guard's are (resilience4j_*, name="prometheus").
        PrometheusClient client = new PrometheusClient(prometheus, PrometheusSettings.defaults(), manager.registry());
        register(manager, client, killSwitch, workers, wrap);
    }

    /** With a client built by the caller (its settings, its registry); {@code client} is what the signals are read with. */
    public static void register(Manager manager, PrometheusClient client, KillSwitch killSwitch, int workers,
            UnaryOperator<Reconciler<ResourceTuningPolicy>> wrap) {
        register(manager, client, SignalMetrics.defaults(), killSwitch, workers, wrap);
    }

    /** @param names the metric names this replica reads (a policy's {@code spec.signalMetrics} overrides them) */
    public static void register(Manager manager, PrometheusClient client, SignalMetrics names, KillSwitch killSwitch, int workers,
            UnaryOperator<Reconciler<ResourceTuningPolicy>> wrap) {
        PrometheusSignals signals = new PrometheusSignals(client, names, WINDOW, STEP, RATE_WINDOW);
        register(manager, new TuningReconciler(manager.client(), signals, TuningSettings.defaults().withKillSwitch(killSwitch),
                new TunerMetrics(manager.registry())), workers, wrap);
    }

    public static void register(Manager manager, TuningReconciler reconciler, int workers,
            UnaryOperator<Reconciler<ResourceTuningPolicy>> wrap) {
        manager.controller(ResourceTuningPolicy.class).named(CONTROLLER_NAME).workers(workers)
                // Status writes must not trigger a pass: spec changes and the resync do.
                .withPredicate(EventPredicate.generationChanged())
                .complete(wrap.apply(reconciler));
    }
}
