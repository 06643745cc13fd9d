package dev.flotilla.tuning.guard;

import dev.flotilla.tuning.recommend.ContainerResources;
import java.util.List;

/** Kubernetes' pod QoS classes, computed the way the kubelet does from every container's requests and limits. */
public enum QosClass {
    Guaranteed, Burstable, BestEffort;

    public static QosClass of(List<ContainerResources> containers) {
        boolean anySet = false;
        boolean allGuaranteed = !containers.isEmpty();
        for (ContainerResources c : containers) {
            anySet |= c.cpuRequestMillis().isPresent() || c.cpuLimitMillis().isPresent() || c.memoryRequestBytes().isPresent()
                    || c.memoryLimitBytes().isPresent();
            // A limit without a request defaults the request to the limit.
            long cpuReq = c.cpuRequestMillis().orElse(c.cpuLimitMillis().orElse(-1));
            long memReq = c.memoryRequestBytes().orElse(c.memoryLimitBytes().orElse(-1));
            allGuaranteed &= c.cpuLimitMillis().isPresent() && c.memoryLimitBytes().isPresent()
                    && cpuReq == c.cpuLimitMillis().getAsLong() && memReq == c.memoryLimitBytes().getAsLong();
        }
        return !anySet ? BestEffort : allGuaranteed ? Guaranteed : Burstable;
    }
}
