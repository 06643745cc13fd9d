package dev.flotilla.tuning.controller;

import dev.flotilla.core.reconcile.CauseChain;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's global stop for the tuner, flipped at run time without a restart: ConfigMap {@value #NAME} in
 * the given namespace, key {@value #KEY}. The tuner acts only while it reads {@code "false"} there; {@code "true"}
 * stops every action (status is still written), and so does anything it cannot be sure of: the ConfigMap missing,
 * not read yet, forbidden or unreadable, or a value that is neither. The {@code tuner} deploy component installs
 * it released.
 *
 * <pre class="shell">{@code
 * kubectl -n flotilla-system patch configmap flotilla-tuning -p '{"data":{"killSwitch":"true"}}'
 * }</pre>
 *
 * <pre>{@code
 * try (KillSwitch killSwitch = new KillSwitch(client, "flotilla-system")) {
 *     boolean mayAct = killSwitch.get() instanceof KillSwitchState.Released;
 * }
 * }</pre>
 */
public final class KillSwitch implements Supplier<KillSwitchState>, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(KillSwitch.class);

    public static final String NAME = "flotilla-tuning";
    public static final String KEY = "killSwitch";

    private final String namespace;
    private final SharedIndexInformer<ConfigMap> informer;
    /** The last list or watch failure, until the watch is seen up again. */
    private final AtomicReference<Throwable> lastFailure = new AtomicReference<>();
    private volatile boolean closed;

    /** Starts watching; never blocks and never throws for a forbidden or unreachable API server (that reads as engaged). */
    public KillSwitch(KubernetesClient client, String namespace) {
        this.namespace = Objects.requireNonNull(namespace, "namespace");
        this.informer = client.configMaps().inNamespace(namespace).withField("metadata.name", NAME).runnableInformer(0);
        informer.exceptionHandler((started, t) -> {
            if (lastFailure.getAndSet(t) == null) {
                log.atWarn().addKeyValue("namespace", namespace).addKeyValue("name", NAME).addKeyValue("error", describe(t))
                        .log("kill switch unreadable; the tuner takes no action until it can read it");
            }
            return true; // keep trying: a permission granted later, or a server back, releases the tuner again
        });
        informer.start();
    }

    @Override
    public KillSwitchState get() {
        if (closed) {
            return new KillSwitchState.Engaged(KillSwitchState.UNREADABLE, where() + " is no longer watched (closed)");
        }
        Throwable failure = lastFailure.get();
        if (!informer.hasSynced()) {
            return failure == null ? new KillSwitchState.Engaged(KillSwitchState.NOT_READ, where() + " has not been read yet")
                    : failed(failure);
        }
        if (failure != null) {
            if (!informer.isWatching()) {
                return failed(failure);
            }
            if (lastFailure.compareAndSet(failure, null)) {
                log.atInfo().addKeyValue("namespace", namespace).addKeyValue("name", NAME).log("kill switch readable again");
            }
        }
        List<ConfigMap> found = informer.getStore().list();
        if (found.isEmpty()) {
            return new KillSwitchState.Engaged(KillSwitchState.MISSING, where() + " does not exist; create it with "
                    + KEY + ": \"false\" to let the tuner act");
        }
        ConfigMap cm = found.getFirst();
        Object value = cm.getData() == null ? null : cm.getData().get(KEY);
        String v = value == null ? null : String.valueOf(value).strip();
        if ("false".equalsIgnoreCase(v)) {
            return KillSwitchState.RELEASED;
        }
        if ("true".equalsIgnoreCase(v)) {
            return new KillSwitchState.Engaged(KillSwitchState.SWITCHED_OFF, "tuning is switched off by " + where());
        }
        return new KillSwitchState.Engaged(KillSwitchState.INVALID_VALUE, where() + " has " + KEY + " "
                + (v == null ? "unset" : "'" + v + "'") + "; it must be \"true\" or \"false\"");
    }

    private KillSwitchState failed(Throwable failure) {
        Optional<KubernetesClientException> k = CauseChain.of(failure).stream().filter(KubernetesClientException.class::isInstance)
                .map(KubernetesClientException.class::cast).findFirst();
        boolean forbidden = k.map(e -> e.getCode() == 403 || e.getCode() == 401).orElse(false);
        return new KillSwitchState.Engaged(forbidden ? KillSwitchState.FORBIDDEN : KillSwitchState.UNREADABLE,
                where() + " cannot be read: " + describe(failure));
    }

    /** The API server's own message where there is one (the exception's text repeats the whole Status). */
    static String describe(Throwable failure) {
        for (Throwable t : CauseChain.of(failure)) {
            if (t instanceof KubernetesClientException k && k.getStatus() != null && k.getStatus().getMessage() != null) {
                return k.getCode() + " " + k.getStatus().getMessage();
            }
        }
        Throwable root = CauseChain.of(failure).getLast();
        return firstLine(root);
    }

    private String where() {
        return "kill switch ConfigMap " + namespace + "/" + NAME;
    }

    private static String firstLine(Throwable t) {
        String m = t.getMessage() == null ? t.toString() : t.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    @Override
    public void close() {
        closed = true;
        informer.stop();
    }
}
