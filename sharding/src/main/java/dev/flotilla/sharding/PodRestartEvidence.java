package dev.flotilla.sharding;

import dev.flotilla.core.logging.FailureText;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restart proof from the replica's own Pod. At join an incarnation records on its membership Lease
 * the Pod's UID, its container's ID and restart count. The next incarnation with the same identity
 * has proof its predecessor is gone when the Pod has the same UID (the same Pod, not a new one with
 * the same name), the container's restart count is higher than recorded, and its last state is
 * {@code terminated} for the recorded container ID: the kubelet only starts a container again after
 * the previous one has ended. Anything else (another UID, a status not yet updated, no permission to
 * read the Pod) is no proof, and the replica waits as it would without.
 */
final class PodRestartEvidence implements RestartEvidence {

    private static final Logger log = LoggerFactory.getLogger(PodRestartEvidence.class);

    private final KubernetesClient client;
    private final PodReference pod;
    private final ExecutorService executor;

    PodRestartEvidence(KubernetesClient client, PodReference pod) {
        this.client = Objects.requireNonNull(client, "client");
        this.pod = Objects.requireNonNull(pod, "pod");
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
    }

    @Override
    public CompletableFuture<Map<String, String>> self() {
        return read().thenApply(found -> found.map(p -> {
            Map<String, String> out = new HashMap<>();
            out.put(LeaseNaming.ANNOTATION_POD_UID, p.getMetadata().getUid());
            container(p).ifPresent(c -> {
                if (c.getState() != null && c.getState().getRunning() != null && c.getContainerID() != null) {
                    out.put(LeaseNaming.ANNOTATION_CONTAINER_ID, c.getContainerID());
                }
                out.put(LeaseNaming.ANNOTATION_RESTART_COUNT, String.valueOf(c.getRestartCount() == null ? 0 : c.getRestartCount()));
            });
            return Map.copyOf(out);
        }).orElse(Map.of()));
    }

    @Override
    public CompletableFuture<Optional<String>> predecessorGone(Map<String, String> recorded) {
        String uid = recorded.getOrDefault(LeaseNaming.ANNOTATION_POD_UID, "");
        String containerId = recorded.getOrDefault(LeaseNaming.ANNOTATION_CONTAINER_ID, "");
        long restarts = parse(recorded.getOrDefault(LeaseNaming.ANNOTATION_RESTART_COUNT, ""));
        if (uid.isEmpty() || containerId.isEmpty() || restarts < 0) {
            return CompletableFuture.completedFuture(Optional.empty()); // it recorded nothing to prove against
        }
        return read().thenApply(found -> found.flatMap(p -> {
            if (!uid.equals(p.getMetadata().getUid())) {
                return Optional.empty();
            }
            return container(p).flatMap(c -> {
                int now = c.getRestartCount() == null ? 0 : c.getRestartCount();
                var terminated = c.getLastState() == null ? null : c.getLastState().getTerminated();
                if (now <= restarts || terminated == null || !containerId.equals(terminated.getContainerID())) {
                    return Optional.empty();
                }
                return Optional.of("pod " + pod.namespace() + "/" + pod.name() + " (uid " + uid + "): container "
                        + c.getName() + " restarted (restart count " + restarts + " -> " + now + ", previous container "
                        + containerId + " terminated" + (terminated.getExitCode() == null ? "" : " with exit code "
                        + terminated.getExitCode()) + ")");
            });
        }));
    }

    private CompletableFuture<Optional<Pod>> read() {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return Optional.ofNullable(client.pods().inNamespace(pod.namespace()).withName(pod.name()).get());
            } catch (RuntimeException e) {
                log.atWarn().addKeyValue("pod", pod.namespace() + "/" + pod.name()).addKeyValue("error", FailureText.of(e))
                        .log("could not read this replica's pod for restart proof; a restart waits out its predecessor");
                return Optional.empty();
            }
        }, executor);
    }

    /** The replica's container: the one named, or the only one. */
    private Optional<ContainerStatus> container(Pod p) {
        List<ContainerStatus> statuses = p.getStatus() == null || p.getStatus().getContainerStatuses() == null ? List.of()
                : p.getStatus().getContainerStatuses();
        if (pod.container().isEmpty()) {
            return statuses.size() == 1 ? Optional.of(statuses.getFirst()) : Optional.empty();
        }
        return statuses.stream().filter(c -> pod.container().equals(c.getName())).findFirst();
    }

    private static long parse(String s) {
        try {
            return s.isEmpty() ? -1 : Long.parseLong(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
