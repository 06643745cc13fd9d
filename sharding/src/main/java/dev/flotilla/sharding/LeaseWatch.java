package dev.flotilla.sharding;

import dev.flotilla.core.logging.FailureText;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Feeds a {@link LeaseView} from a fabric8 watch on the group's Leases (label {@link LeaseNaming#LABEL_GROUP}). */
final class LeaseWatch implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LeaseWatch.class);

    private final SharedIndexInformer<Lease> informer;
    private final LeaseView view;

    LeaseWatch(KubernetesClient client, String namespace, String group, LeaseView view) {
        this.view = view;
        informer = client.leases().inNamespace(namespace).withLabel(LeaseNaming.LABEL_GROUP, group).runnableInformer(0);
        informer.exceptionHandler((started, t) -> {
            log.atWarn().addKeyValue("namespace", namespace).addKeyValue("error", FailureText.of(t))
                    .log("lease watch failed; retrying");
            return true;
        });
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Lease lease) {
                view.record(lease, false);
            }

            @Override
            public void onUpdate(Lease before, Lease after) {
                view.record(after, false);
            }

            @Override
            public void onDelete(Lease lease, boolean finalStateUnknown) {
                view.record(lease, true);
            }
        });
    }

    /**
     * Starts watching and returns once the first LIST is in the view. fabric8 completes the start when
     * its store has synced and hands the listed Leases to the handler afterwards, on its own executor,
     * so the view is fed from the store here as well: the checks made right after the start (the shard
     * count, the protocol) must see every Lease. (Recording one twice changes nothing.)
     */
    void start(Duration syncTimeout) throws Exception {
        informer.start().toCompletableFuture().get(syncTimeout.toMillis(), TimeUnit.MILLISECONDS);
        for (Lease lease : informer.getStore().list()) {
            view.record(lease, false);
        }
    }

    @Override
    public void close() {
        informer.stop();
    }
}
