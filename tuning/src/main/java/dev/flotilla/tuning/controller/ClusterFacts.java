package dev.flotilla.tuning.controller;

import dev.flotilla.tuning.quantity.Resources;
import dev.flotilla.tuning.guard.GuardrailContext.Capacity;
import dev.flotilla.tuning.guard.GuardrailContext;
import dev.flotilla.tuning.guard.GuardrailContext.LimitRangeBounds;
import dev.flotilla.tuning.guard.PodShape;
import dev.flotilla.tuning.recommend.ContainerResources;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.node.v1.RuntimeClass;
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
            // What the scheduler counts for it: init containers, sidecars and overhead included.
            PodShape.Totals r = shape(other.getSpec(), Optional.empty()).requests();
            cpu -= r.cpuMillis();
            mem -= r.memoryBytes();
        }
        // The pod's own running part is not free room: headroom is what may be added on top of it. (Its init containers
        // have finished; their peak is a max beside the running part, never room for a raise.)
        PodShape.Totals own = shape(pod.getSpec(), Optional.empty()).steadyRequests();
        return Optional.of(Capacity.requests(Math.max(0, cpu - own.cpuMillis()), Math.max(0, mem - own.memoryBytes())));
    }

    /**
     * {@code spec}'s containers, init containers and overhead. A pod carries its overhead (the RuntimeClass admission
     * plugin wrote it); a pod template does not, so {@code runtimeClassOverhead} stands in for it there.
     */
    static PodShape shape(PodSpec spec, Optional<ContainerResources> runtimeClassOverhead) {
        List<ContainerResources> containers = spec.getContainers() == null ? List.of()
                : spec.getContainers().stream().map(c -> Resources.of(c.getResources())).toList();
        List<PodShape.InitContainer> inits = spec.getInitContainers() == null ? List.of()
                : spec.getInitContainers().stream().map(c -> new PodShape.InitContainer(Resources.of(c.getResources()),
                        "Always".equals(c.getRestartPolicy()))).toList();
        ContainerResources overhead = spec.getOverhead() != null && !spec.getOverhead().isEmpty() ? overhead(spec.getOverhead())
                : runtimeClassOverhead.orElse(PodShape.NONE);
        return new PodShape(containers, inits, overhead);
    }

    private static ContainerResources overhead(Map<String, Quantity> list) {
        return new ContainerResources(Resources.millis(list.get("cpu")), OptionalLong.empty(), Resources.bytes(list.get("memory")),
                OptionalLong.empty());
    }

    /** The {@code overhead.podFixed} of the RuntimeClass a template names, which its pods will be given; empty when none. */
    Optional<ContainerResources> runtimeClassOverhead(PodSpec spec) {
        String name = spec.getRuntimeClassName();
        if (name == null || name.isEmpty()) {
            return Optional.empty();
        }
        RuntimeClass rc = client.resources(RuntimeClass.class).withName(name).get();
        if (rc == null || rc.getOverhead() == null || rc.getOverhead().getPodFixed() == null) {
            return Optional.empty();
        }
        return Optional.of(overhead(rc.getOverhead().getPodFixed()));
    }

    /**
     * What the namespace's LimitRanges do to new pods: the tightest min, max, ratio and Pod max over all of them, and the
     * defaults the LimitRanger gives (it applies each LimitRange in turn and never overwrites a value already set, so the
     * first LimitRange that has a default wins; within one, the last Container item does). The API server stores a
     * LimitRange with its own defaults filled in ({@code default} from {@code max}, {@code defaultRequest} from
     * {@code default} or {@code min}), so what is read here is what the plugin uses.
     */
    Optional<LimitRangeBounds> limitRange(String namespace) {
        List<LimitRange> ranges = client.limitRanges().inNamespace(namespace).list().getItems();
        RangeBuilder cpu = new RangeBuilder(true);
        RangeBuilder mem = new RangeBuilder(false);
        boolean any = false;
        for (LimitRange lr : ranges) {
            if (lr.getSpec() == null || lr.getSpec().getLimits() == null) {
                continue;
            }
            cpu.startRange();
            mem.startRange();
            for (LimitRangeItem item : lr.getSpec().getLimits()) {
                if ("Container".equals(item.getType())) {
                    any = true;
                    cpu.container(item);
                    mem.container(item);
                } else if ("Pod".equals(item.getType())) {
                    any = true;
                    cpu.pod(item);
                    mem.pod(item);
                }
            }
        }
        return any ? Optional.of(new LimitRangeBounds(cpu.build(), mem.build())) : Optional.empty();
    }

    /** Gathers one resource's rules over the namespace's LimitRanges. */
    private static final class RangeBuilder {
        private final String key;
        private final boolean cpu;
        private OptionalLong min = OptionalLong.empty();
        private OptionalLong max = OptionalLong.empty();
        private OptionalLong ratio = OptionalLong.empty();
        private OptionalLong podMax = OptionalLong.empty();
        private OptionalLong defaultLimit = OptionalLong.empty();
        private OptionalLong defaultRequest = OptionalLong.empty();
        private OptionalLong rangeLimit = OptionalLong.empty();
        private OptionalLong rangeRequest = OptionalLong.empty();

        RangeBuilder(boolean cpu) {
            this.cpu = cpu;
            this.key = cpu ? "cpu" : "memory";
        }

        private OptionalLong value(Map<String, Quantity> list) {
            return list == null ? OptionalLong.empty() : cpu ? Resources.millis(list.get(key)) : Resources.bytes(list.get(key));
        }

        void startRange() {
            // The previous LimitRange's defaults stand where it had them.
            defaultLimit = defaultLimit.isPresent() ? defaultLimit : rangeLimit;
            defaultRequest = defaultRequest.isPresent() ? defaultRequest : rangeRequest;
            rangeLimit = OptionalLong.empty();
            rangeRequest = OptionalLong.empty();
        }

        void container(LimitRangeItem item) {
            min = tighter(min, value(item.getMin()), true);
            max = tighter(max, value(item.getMax()), false);
            Quantity r = item.getMaxLimitRequestRatio() == null ? null : item.getMaxLimitRequestRatio().get(key);
            ratio = tighter(ratio, Resources.millis(r), false); // a ratio in thousandths, like the plugin's MilliValue
            OptionalLong d = value(item.getDefault());
            rangeLimit = d.isPresent() ? d : rangeLimit;
            OptionalLong dr = value(item.getDefaultRequest());
            rangeRequest = dr.isPresent() ? dr : rangeRequest;
        }

        void pod(LimitRangeItem item) {
            podMax = tighter(podMax, value(item.getMax()), false);
        }

        GuardrailContext.ResourceRange build() {
            startRange();
            return new GuardrailContext.ResourceRange(min, max, defaultLimit, defaultRequest, ratio, podMax);
        }
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
            // What the quota's pod evaluator charges: requests and limits as PodRequests/PodLimits count them.
            PodShape shape = shape(p.getSpec(), Optional.empty());
            use[0] += shape.requests().cpuMillis();
            use[1] += shape.requests().memoryBytes();
            use[2] += shape.limits().cpuMillis();
            use[3] += shape.limits().memoryBytes();
        }
        return use;
    }
}
