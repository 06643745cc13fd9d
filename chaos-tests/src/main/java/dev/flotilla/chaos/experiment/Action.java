package dev.flotilla.chaos.experiment;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What an experiment does to the pods it selects: the Chaos Mesh actions the local engine carries
 * out (see the module's README for how each is approximated on one machine), plus the cluster
 * faults Chaos Mesh cannot aim at a controller (kind {@code ClusterChaos}).
 */
public sealed interface Action {

    /** Whether the fault lasts {@code spec.duration} (false: a one-shot such as pod-kill). */
    boolean lasting();

    /** Short name for reports: {@code PodChaos/pod-kill}. */
    String describe();

    // --- PodChaos ---

    /** SIGKILL; the "ReplicaSet" starts a new pod with a new name after the grace period. */
    record PodKill(Duration gracePeriod) implements Action {
        public PodKill {
            Objects.requireNonNull(gracePeriod, "gracePeriod");
        }

        public boolean lasting() {
            return false;
        }

        public String describe() {
            return "PodChaos/pod-kill";
        }
    }

    /** The pod's container down for the duration (SIGKILL), then started again in the same pod. */
    record PodFailure() implements Action {
        public boolean lasting() {
            return true;
        }

        public String describe() {
            return "PodChaos/pod-failure";
        }
    }

    /** SIGKILL of the named containers; the "kubelet" restarts them in the same pod (restart count + 1). */
    record ContainerKill(List<String> containerNames) implements Action {
        public ContainerKill {
            containerNames = List.copyOf(containerNames);
            if (containerNames.isEmpty()) {
                throw new IllegalArgumentException("container-kill needs spec.containerNames");
            }
        }

        public boolean lasting() {
            return false;
        }

        public String describe() {
            return "PodChaos/container-kill";
        }
    }

    // --- NetworkChaos (between the selected replicas and the API server) ---

    /** No traffic between the replica and the API server, in the given direction ("to", "from", "both"). */
    record Partition(String direction) implements Action {
        public Partition {
            Objects.requireNonNull(direction, "direction");
        }

        public boolean lasting() {
            return true;
        }

        public String describe() {
            return "NetworkChaos/partition";
        }
    }

    record NetDelay(Duration latency, Duration jitter, int correlationPercent) implements Action {
        public NetDelay {
            Objects.requireNonNull(latency, "latency");
            Objects.requireNonNull(jitter, "jitter");
            checkPercent("delay.correlation", correlationPercent);
        }

        public boolean lasting() {
            return true;
        }

        public String describe() {
            return "NetworkChaos/delay";
        }
    }

    record NetLoss(int percent, int correlationPercent) implements Action {
        public NetLoss {
            checkPercent("loss.loss", percent);
            checkPercent("loss.correlation", correlationPercent);
        }

        public boolean lasting() {
            return true;
        }

        public String describe() {
            return "NetworkChaos/loss";
        }
    }

    record NetDuplicate(int percent, int correlationPercent) implements Action {
        public NetDuplicate {
            checkPercent("duplicate.duplicate", percent);
            checkPercent("duplicate.correlation", correlationPercent);
        }

        public boolean lasting() {
            return true;
        }

        public String describe() {
            return "NetworkChaos/duplicate";
        }
    }

    /** A token bucket: {@code bytesPerSecond} sustained, {@code bufferBytes} burst. */
    record NetBandwidth(long bytesPerSecond, long limitBytes, long bufferBytes) implements Action {
        public NetBandwidth {
            if (bytesPerSecond < 1 || bufferBytes < 1 || limitBytes < 1) {
                throw new IllegalArgumentException("bandwidth rate, limit and buffer must be positive");
            }
        }

        public boolean lasting() {
            return true;
        }

        public String describe() {
            return "NetworkChaos/bandwidth";
        }
    }

    // --- HTTPChaos (the replicas' requests to the API server, seen by the engine's TLS-terminating proxy) ---

    /**
     * @param target      {@code Request} or {@code Response}
     * @param path        a Chaos Mesh path pattern ({@code *} any run of characters), empty for every path
     * @param method      an HTTP method, empty for every method
     * @param abort       whether the connection is closed without an answer
     * @param delay       how long each matched request waits, when present
     * @param replaceCode the status code answered instead, when present
     */
    record HttpFault(String target, Optional<String> path, Optional<String> method, boolean abort, Optional<Duration> delay,
            OptionalInt replaceCode) implements Action {
        public HttpFault {
            if (!target.equals("Request") && !target.equals("Response")) {
                throw new IllegalArgumentException("target must be Request or Response, got '" + target + "'");
            }
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(method, "method");
            Objects.requireNonNull(delay, "delay");
            Objects.requireNonNull(replaceCode, "replaceCode");
            int faults = (abort ? 1 : 0) + (delay.isPresent() ? 1 : 0) + (replaceCode.isPresent() ? 1 : 0);
            if (faults != 1) {
                throw new IllegalArgumentException("give exactly one of abort, delay, replace.code (found " + faults + ")");
            }
            replaceCode.ifPresent(c -> {
                if (c < 100 || c > 599) {
                    throw new IllegalArgumentException("replace.code must be an HTTP status, got " + c);
                }
            });
        }

        public boolean lasting() {
            return true;
        }

        public String describe() {
            return "HTTPChaos/" + (abort ? "abort" : delay.isPresent() ? "delay" : "replace");
        }
    }

    // --- StressChaos, TimeChaos ---

    /** stress-ng in the replica's cgroups: {@code cpuWorkers} at {@code cpuLoad}%, {@code memoryWorkers} of {@code memoryBytes}. */
    record Stress(int cpuWorkers, int cpuLoad, int memoryWorkers, long memoryBytes) implements Action {
        public Stress {
            if (cpuWorkers < 0 || memoryWorkers < 0 || cpuWorkers + memoryWorkers == 0) {
                throw new IllegalArgumentException("stressors need cpu or memory workers");
            }
            checkPercent("stressors.cpu.load", cpuLoad);
            if (memoryWorkers > 0 && memoryBytes < 1) {
                throw new IllegalArgumentException("stressors.memory.size must be positive");
            }
        }

        public boolean lasting() {
            return true;
        }

        public String describe() {
            return "StressChaos/" + (cpuWorkers > 0 ? "cpu" : "") + (cpuWorkers > 0 && memoryWorkers > 0 ? "+" : "")
                    + (memoryWorkers > 0 ? "memory" : "");
        }
    }

    /** The replica's CLOCK_REALTIME moved by {@code offset}; the monotonic clock untouched. */
    record TimeShift(Duration offset) implements Action {
        public TimeShift {
            Objects.requireNonNull(offset, "offset");
        }

        public boolean lasting() {
            return true;
        }

        public String describe() {
            return "TimeChaos/" + (offset.isNegative() ? "back" : "forward");
        }
    }

    // --- ClusterChaos: faults of the cluster itself, which Chaos Mesh cannot aim at a controller ---

    /** etcd killed (SIGKILL) for the duration, then started again on its data. */
    record EtcdKill() implements Action {
        public boolean lasting() {
            return true;
        }

        public String describe() {
            return "ClusterChaos/etcd-kill";
        }
    }

    /** The kube-apiserver stopped (SIGTERM) for the duration, then started again with the same flags. */
    record ApiServerRestart() implements Action {
        public boolean lasting() {
            return true;
        }

        public String describe() {
            return "ClusterChaos/apiserver-restart";
        }
    }

    /** etcd compacted to its current revision and every open watch cut, so that every re-watch gets 410 Gone. */
    record WatchCompaction() implements Action {
        public boolean lasting() {
            return false;
        }

        public String describe() {
            return "ClusterChaos/watch-compaction";
        }
    }

    private static void checkPercent(String field, int value) {
        if (value < 0 || value > 100) {
            throw new IllegalArgumentException(field + " must be a percent (0-100), got " + value);
        }
    }
}
