package dev.flotilla.tuning.controller;

import dev.flotilla.tuning.quantity.Resources;
import dev.flotilla.tuning.guard.GuardrailContext.Capacity;
import dev.flotilla.tuning.guard.GuardrailContext.LimitRangeBounds;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.LimitRange;
import io.fabric8.kubernetes.api.model.LimitRangeItem;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceQuota;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/** What the guardrails need to know about the cluster, read from the API server. */
final class ClusterFacts {

    private static final Set<String> FINISHED = Set.of("Succeeded", "Failed");

    private final KubernetesClient client;

    ClusterFacts(KubernetesClient client) {
        this.client = client;
    }

    /** The largest allocatable CPU (millicores) and memory (bytes) of any node; empty when no node is visible. */
    Optional<long[]> largestNode() {
        long cpu = 0;
        long mem = 0;
        for (Node n : client.nodes().list().getItems()) {
            Map<String, Quantity> a = n.getStatus() == null ? null : n.getStatus().getAllocatable();
            if (a != null) {
                cpu = Math.max(cpu, Resources.millis(a.get("cpu")).orElse(0));
                mem = Math.max(mem, Resources.bytes(a.get("memory")).orElse(0));
            }
        }
        return cpu == 0 && mem == 0 ? Optional.empty() : Optional.of(new long[] {cpu, mem});
    }

    /** The pod's node's allocatable minus what every other live pod on that node requests; empty for an unscheduled pod. */
    Optional<Capacity> nodeHeadroom(Pod pod) {
        String nodeName = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
        if (nodeName == null || nodeName.isEmpty()) {
            return Optional.empty();
        }
        Node node = client.nodes().withName(nodeName).get();
        if (node == null || node.getStatus() == null || node.getStatus().getAllocatable() == null) {
            return Optional.empty();
        }
        long cpu = Resources.millis(node.getStatus().getAllocatable().get("cpu")).orElse(0);
        long mem = Resources.bytes(node.getStatus().getAllocatable().get("memory")).orElse(0);
        for (Pod other : client.pods().inAnyNamespace().withField("spec.nodeName", nodeName).list().getItems()) {
            boolean same = other.getMetadata().getUid() != null && other.getMetadata().getUid().equals(pod.getMetadata().getUid());
            if (same || (other.getStatus() != null && FINISHED.contains(other.getStatus().getPhase()))) {
                continue;
            }
            for (Container c : other.getSpec().getContainers()) {
                var r = Resources.of(c.getResources());
                cpu -= r.cpuRequestMillis().orElse(0);
                mem -= r.memoryRequestBytes().orElse(0);
            }
        }
        // The pod's own current requests are not free room: headroom is what may be added on top of them.
        return Optional.of(Capacity.requests(Math.max(0, cpu - requests(pod, true)), Math.max(0, mem - requests(pod, false))));
    }

    private static long requests(Pod pod, boolean cpu) {
        long sum = 0;
        for (Container c : pod.getSpec().getContainers()) {
            var r = Resources.of(c.getResources());
            sum += cpu ? r.cpuRequestMillis().orElse(0) : r.memoryRequestBytes().orElse(0);
        }
        return sum;
    }

    /** The tightest Container-type LimitRange min and max in {@code namespace}. */
    Optional<LimitRangeBounds> limitRange(String namespace) {
        List<LimitRange> ranges = client.limitRanges().inNamespace(namespace).list().getItems();
        OptionalLong minCpu = OptionalLong.empty();
        OptionalLong maxCpu = OptionalLong.empty();
        OptionalLong minMem = OptionalLong.empty();
        OptionalLong maxMem = OptionalLong.empty();
        boolean any = false;
        for (LimitRange lr : ranges) {
            if (lr.getSpec() == null || lr.getSpec().getLimits() == null) {
                continue;
            }
            for (LimitRangeItem item : lr.getSpec().getLimits()) {
                if (!"Container".equals(item.getType())) {
                    continue;
                }
                any = true;
                Map<String, Quantity> max = item.getMax() == null ? Map.of() : item.getMax();
                Map<String, Quantity> min = item.getMin() == null ? Map.of() : item.getMin();
                maxCpu = tighter(maxCpu, Resources.millis(max.get("cpu")), false);
                maxMem = tighter(maxMem, Resources.bytes(max.get("memory")), false);
                minCpu = tighter(minCpu, Resources.millis(min.get("cpu")), true);
                minMem = tighter(minMem, Resources.bytes(min.get("memory")), true);
            }
        }
        return any ? Optional.of(new LimitRangeBounds(minCpu, maxCpu, minMem, maxMem)) : Optional.empty();
    }

    private static OptionalLong tighter(OptionalLong a, OptionalLong b, boolean min) {
        if (a.isEmpty()) {
            return b;
        }
        if (b.isEmpty()) {
            return a;
        }
        return OptionalLong.of(min ? Math.max(a.getAsLong(), b.getAsLong()) : Math.min(a.getAsLong(), b.getAsLong()));
    }

    /**
     * What the namespace's ResourceQuotas still allow (hard minus used, the smallest over all quotas). Where a quota
     * has no {@code status.used} yet (its controller has not run), use is summed from the namespace's pods.
     */
    Optional<Capacity> quotaRoom(String namespace) {
        List<ResourceQuota> quotas = client.resourceQuotas().inNamespace(namespace).list().getItems();
        if (quotas.isEmpty()) {
            return Optional.empty();
        }
        long[] podUse = null;
        OptionalLong cpuReq = OptionalLong.empty();
        OptionalLong memReq = OptionalLong.empty();
        OptionalLong cpuLim = OptionalLong.empty();
        OptionalLong memLim = OptionalLong.empty();
        for (ResourceQuota q : quotas) {
            Map<String, Quantity> hard = q.getSpec() == null || q.getSpec().getHard() == null ? Map.of() : q.getSpec().getHard();
            Map<String, Quantity> used = q.getStatus() == null ? null : q.getStatus().getUsed();
            if (used == null || used.isEmpty()) { // the quota controller has not counted yet
                if (podUse == null) {
                    podUse = podUse(namespace);
                }
                used = Map.of("requests.cpu", Resources.cpu(podUse[0]), "requests.memory", Resources.memory(podUse[1]),
                        "limits.cpu", Resources.cpu(podUse[2]), "limits.memory", Resources.memory(podUse[3]));
            }
            cpuReq = tighter(cpuReq, room(hard, used, true, "requests.cpu", "cpu"), false);
            memReq = tighter(memReq, room(hard, used, false, "requests.memory", "memory"), false);
            cpuLim = tighter(cpuLim, room(hard, used, true, "limits.cpu", "limits.cpu"), false);
            memLim = tighter(memLim, room(hard, used, false, "limits.memory", "limits.memory"), false);
        }
        return Optional.of(new Capacity(cpuReq, memReq, cpuLim, memLim));
    }

    private static OptionalLong room(Map<String, Quantity> hard, Map<String, Quantity> used, boolean cpu, String key, String alias) {
        Quantity h = hard.containsKey(key) ? hard.get(key) : hard.get(alias);
        if (h == null) {
            return OptionalLong.empty();
        }
        Quantity u = used.containsKey(key) ? used.get(key) : used.get(alias);
        long hv = cpu ? Resources.millis(h).orElse(0) : Resources.bytes(h).orElse(0);
        long uv = u == null ? 0 : cpu ? Resources.millis(u).orElse(0) : Resources.bytes(u).orElse(0);
        return OptionalLong.of(Math.max(0, hv - uv));
    }

    private long[] podUse(String namespace) {
        long[] use = new long[4];
        for (Pod p : client.pods().inNamespace(namespace).list().getItems()) {
            if (p.getStatus() != null && FINISHED.contains(p.getStatus().getPhase())) {
                continue;
            }
            for (Container c : p.getSpec().getContainers()) {
                var r = Resources.of(c.getResources());
                use[0] += r.cpuRequestMillis().orElse(0);
                use[1] += r.memoryRequestBytes().orElse(0);
                use[2] += r.cpuLimitMillis().orElse(0);
                use[3] += r.memoryLimitBytes().orElse(0);
            }
        }
        return use;
    }
}
