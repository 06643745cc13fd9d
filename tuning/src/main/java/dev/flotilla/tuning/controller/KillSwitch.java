package dev.flotilla.tuning.controller;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.function.BooleanSupplier;

/**
 * The operator's global stop for the tuner, flipped at run time without a restart: while ConfigMap
 * {@value #NAME} in the given namespace has {@code killSwitch: "true"}, no replica changes anything
 * (status is still written). An unreadable or missing ConfigMap means "not switched off".
 *
 * <pre class="shell">{@code
 * kubectl -n flotilla-system create configmap flotilla-tuning --from-literal=killSwitch=true
 * }</pre>
 */
public final class KillSwitch implements BooleanSupplier, AutoCloseable {

    public static final String NAME = "flotilla-tuning";
    public static final String KEY = "killSwitch";

    private final SharedIndexInformer<ConfigMap> informer;

    public KillSwitch(KubernetesClient client, String namespace) {
        this.informer = client.configMaps().inNamespace(namespace).withField("metadata.name", NAME).inform();
    }

    @Override
    public boolean getAsBoolean() {
        return informer.getStore().list().stream().anyMatch(cm -> cm.getData() != null
                && "true".equalsIgnoreCase(String.valueOf(cm.getData().get(KEY)).strip()));
    }

    @Override
    public void close() {
        informer.stop();
    }
}
