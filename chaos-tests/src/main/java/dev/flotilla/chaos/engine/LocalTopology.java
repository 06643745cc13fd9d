package dev.flotilla.chaos.engine;

import dev.flotilla.testing.RealApiServer;
import dev.flotilla.testing.fault.FaultProxy;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster an experiment runs on: the REAL kube-apiserver and etcd (audit log on), the fault
 * proxy between each replica and the server, and N replica pods, each a Pod object the engine keeps
 * as a kubelet would and a {@code flotilla run} process. Faults act on these; closing it stops
 * every process it started and removes every cgroup.
 */
public final class LocalTopology implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LocalTopology.class);

    /** Where the replicas run and hold their Leases: deploy/base's namespace. */
    public static final String NAMESPACE = "flotilla-system";
    public static final String APP_LABEL = "app.kubernetes.io/name";
    public static final String APP_NAME = "flotilla";
    public static final String CONTAINER = "flotilla";
    /** Each replica reaches the server as this user plus its pod name (the proxy impersonates it). */
    public static final String USER_PREFIX = "flotilla-replica:";
    private static final String ALPHANUM = "bcdfghjklmnpqrstvwxz2456789";

    private final RealApiServer server;
    private final FaultProxy proxy;
    private final Path workDir;
    private final RandomGenerator names;
    private final String templateHash;
    private final CgroupPods cgroups;
    private ReplicaLauncher launcher;
    private static final dev.flotilla.sharding.LeaseNaming MEMBERS =
            new dev.flotilla.sharding.LeaseNaming(dev.flotilla.sharding.ShardingConfig.DEFAULT_GROUP);
    private final List<ReplicaPod> pods = new CopyOnWriteArrayList<>();
    /** Pod name -> the holder of its membership Lease when its current container started ("" for none). */
    private final Map<String, String> holdersAtStart = new java.util.concurrent.ConcurrentHashMap<>();
    private final List<ReplicaPod> gone = new CopyOnWriteArrayList<>();
    private final Thread cleanup = new Thread(this::stopAll, "chaos-cleanup");
    private volatile boolean closed;

    private LocalTopology(RealApiServer server, FaultProxy proxy, Path workDir, RandomGenerator names, CgroupPods cgroups) {
        this.server = server;
        this.proxy = proxy;
        this.workDir = workDir;
        this.names = names;
        this.cgroups = cgroups;
        this.templateHash = randomText(9);
    }

    /**
     * Starts the server and the proxy (no replicas yet: {@link #scaleTo}).
     *
     * @param replica how a replica's process is started (all but the kubeconfig, which this topology writes)
     */
    public static LocalTopology start(Path workDir, long seed, ReplicaSpec replica) {
        RealApiServer server = RealApiServer.start(true, true);
        FaultProxy proxy = null;
        try {
            proxy = FaultProxy.start(server);
            CgroupPods cgroups = new CgroupPods(cgroupParent(workDir));
            LocalTopology t = new LocalTopology(server, proxy, workDir, seeded(seed), cgroups);
            // A run stopped by SIGTERM or Ctrl-C leaves no replica, stress-ng or server behind.
            Runtime.getRuntime().addShutdownHook(t.cleanup);
            t.launcher = new ReplicaLauncher(replica.java(), replica.classPath(), replica.main(), replica.runArgs(),
                    replica.faketime(), cgroups, t::writeKubeconfig);
            server.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata()
                    .build()).serverSideApply();
            return t;
        } catch (RuntimeException e) {
            if (proxy != null) {
                proxy.close();
            }
            server.close();
            throw e;
        }
    }

    /**
     * The prefix of this topology's pod cgroups: the process and the work directory, so that two topologies in one
     * process (LocalChaosTest runs two clusters side by side) neither share a cgroup nor count each other's as theirs.
     * Both parts end before the pod's name, so no topology's prefix is another's.
     */
    static String cgroupParent(Path workDir) {
        return "flotilla-chaos-" + ProcessHandle.current().pid() + "-"
                + Integer.toUnsignedString(workDir.toAbsolutePath().normalize().toString().hashCode(), 36);
    }

    private static RandomGenerator seeded(long seed) {
        return new java.util.SplittableRandom(seed);
    }

    public RealApiServer server() {
        return server;
    }

    public KubernetesClient admin() {
        return server.client();
    }

    public FaultProxy proxy() {
        return proxy;
    }

    CgroupPods cgroups() {
        return cgroups;
    }

    /** The replica pods that exist now, in name order. */
    public List<ReplicaPod> pods() {
        return pods.stream().sorted(java.util.Comparator.comparing(ReplicaPod::name)).toList();
    }

    /**
     * Every replica's container restarted in place with another build (a deliberately weakened one,
     * or the product's again); containers started from now on use it too.
     */
    public void useBuild(ReplicaSpec spec) {
        launcher = new ReplicaLauncher(spec.java(), spec.classPath(), spec.main(), spec.runArgs(), spec.faketime(), cgroups,
                this::writeKubeconfig);
        for (ReplicaPod p : pods()) {
            killContainer(p, true);
            startContainer(p);
        }
    }

    /**
     * Whether the pod's running container has joined the group: its membership Lease is held, and by another holder
     * than when the container started (a restarted replica takes its Lease over from its earlier incarnation, whose
     * holder identity carries the same pod name: without this a group would look settled while its replicas start).
     */
    boolean joinedSinceStart(ReplicaPod pod) {
        String holder = memberHolder(pod);
        return !holder.isEmpty() && !holder.equals(holdersAtStart.getOrDefault(pod.name(), ""));
    }

    /** The holder of the pod's membership Lease, "" when there is none. */
    private String memberHolder(ReplicaPod pod) {
        io.fabric8.kubernetes.api.model.coordination.v1.Lease member = admin().leases().inNamespace(NAMESPACE)
                .withName(MEMBERS.memberLease(pod.name())).get();
        return member == null || member.getSpec().getHolderIdentity() == null ? "" : member.getSpec().getHolderIdentity();
    }

    /** Creates pods until there are {@code n} (deletes none). */
    public void scaleTo(int n) {
        while (pods.size() < n) {
            createPod();
        }
    }

    /** A new pod of the "ReplicaSet": a fresh name, its Pod object, its container started. */
    ReplicaPod createPod() {
        String name = APP_NAME + "-" + templateHash + "-" + randomText(5);
        ReplicaPod pod = new ReplicaPod(name, workDir.resolve(name));
        proxy.impersonate(name, new FaultProxy.Impersonation(USER_PREFIX + name, List.of("system:masters")));
        admin().pods().inNamespace(NAMESPACE).resource(new PodBuilder().withNewMetadata().withName(name)
                .withLabels(pod.labels()).endMetadata()
                .withNewSpec().addNewContainer().withName(CONTAINER).withImage("flotilla:local").endContainer().endSpec()
                .build()).create();
        pods.add(pod);
        startContainer(pod);
        log.atInfo().addKeyValue("pod", name).log("replica pod created");
        return pod;
    }

    /** Starts (or restarts in place) the pod's container and reports its status on the Pod, as the kubelet does. */
    void startContainer(ReplicaPod pod) {
        // Who holds its membership Lease now: the container about to start has joined once someone else does.
        try {
            holdersAtStart.put(pod.name(), memberHolder(pod));
        } catch (RuntimeException e) {
            holdersAtStart.remove(pod.name()); // the API server is down: the check falls back to "some holder"
        }
        pod.startContainer(launcher);
        ContainerStatusBuilder status = new ContainerStatusBuilder().withName(CONTAINER).withImage("flotilla:local")
                .withContainerID(pod.containerId()).withRestartCount(pod.restarts()).withReady(true).withStarted(true)
                .withState(new ContainerStateBuilder().withNewRunning().withStartedAt(pod.startedAt().toString()).endRunning()
                        .build());
        pod.lastContainerId().ifPresent(last -> status.withLastState(new ContainerStateBuilder().withNewTerminated()
                .withContainerID(last).withExitCode(137).withReason("Error").withFinishedAt(Instant.now().toString())
                .endTerminated().build()));
        writeStatus(pod, "Running", status.build());
    }

    /** SIGKILL of the container; with {@code down} it stays down until started again (pod-failure). */
    void killContainer(ReplicaPod pod, boolean down) {
        pod.killContainer(down);
        writeStatus(pod, "Running", new ContainerStatusBuilder().withName(CONTAINER).withImage("flotilla:local")
                .withContainerID(pod.containerId()).withRestartCount(pod.restarts()).withReady(false).withStarted(false)
                .withState(new ContainerStateBuilder().withNewTerminated().withContainerID(pod.containerId()).withExitCode(137)
                        .withReason("Error").withFinishedAt(Instant.now().toString()).endTerminated().build()).build());
    }

    /** pod-kill: SIGKILL and the Pod deleted; the "ReplicaSet" creates a replacement after {@code grace}. */
    ReplicaPod deletePod(ReplicaPod pod) {
        pod.killContainer(true);
        admin().pods().inNamespace(NAMESPACE).withName(pod.name()).withGracePeriod(0).delete();
        pods.remove(pod);
        gone.add(pod);
        log.atInfo().addKeyValue("pod", pod.name()).log("replica pod deleted");
        return pod;
    }

    /**
     * A merge patch of the status subresource, as the kubelet writes it: no read-modify-write, so a label the
     * coordinator writes on its own Pod meanwhile cannot make it conflict. A Pod already gone is left gone.
     */
    private void writeStatus(ReplicaPod pod, String phase, ContainerStatus status) {
        var patch = new io.fabric8.kubernetes.api.model.PodBuilder().withNewStatus().withPhase(phase)
                .withContainerStatuses(status).endStatus().build();
        try {
            admin().pods().inNamespace(NAMESPACE).withName(pod.name()).subresource("status")
                    .patch(io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
                            io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE), patch);
        } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
            if (e.getCode() != 404) {
                throw e;
            }
        }
    }

    /** The labels of a pod as the API server has them now (the coordinator labels its own Pod). */
    Map<String, String> labelsOf(ReplicaPod pod) {
        Pod p = admin().pods().inNamespace(NAMESPACE).withName(pod.name()).get();
        return p == null || p.getMetadata().getLabels() == null ? Map.of() : p.getMetadata().getLabels();
    }

    /** Restarts, as the kubelet would, a container that died while nobody meant it to (an OOM kill, say). */
    public List<String> restartCrashed() {
        List<String> restarted = new ArrayList<>();
        for (ReplicaPod p : pods) {
            if (!p.isAlive() && !p.expectedDown()) {
                log.atWarn().addKeyValue("pod", p.name()).addKeyValue("tail", String.join(" | ", p.tail(3)))
                        .log("replica container exited; restarting it as the kubelet would");
                startContainer(p);
                restarted.add(p.name());
            }
        }
        return restarted;
    }

    private Path writeKubeconfig(String pod) {
        Path file = workDir.resolve(pod).resolve("kubeconfig");
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, """
                    apiVersion: v1
                    kind: Config
                    clusters:
                    - name: local
                      cluster: {server: "%s"}
                    users:
                    - name: replica
                      user: {}
                    contexts:
                    - name: local
                      context: {cluster: local, user: replica}
                    current-context: local
                    """.formatted(proxy.url(pod)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
        return file;
    }

    /** Synchronized: a Workflow's parallel branches and a Schedule's firings create pods from threads of their own. */
    private synchronized String randomText(int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(ALPHANUM.charAt(names.nextInt(ALPHANUM.length())));
        }
        return b.toString();
    }

    /** Processes this topology started that are still running, other than the live pods' containers. */
    public List<String> leftovers() {
        List<String> out = new ArrayList<>();
        for (ReplicaPod p : gone) {
            if (p.isAlive()) {
                out.add("deleted pod " + p.name() + " still runs (pid " + p.pid() + ")");
            }
        }
        for (ReplicaPod p : pods) {
            if (p.expectedDown() && p.isAlive()) {
                out.add("pod " + p.name() + " should be down");
            }
        }
        if (!proxy.rules().isEmpty()) {
            out.add(proxy.rules().size() + " fault proxy rule(s) still installed");
        }
        List<Long> alive = new ArrayList<>(cgroups.leftoverPids());
        for (ReplicaPod p : pods) {
            alive.remove(Long.valueOf(p.pid()));
        }
        if (!alive.isEmpty()) {
            out.add("processes left in the pods' cgroups: " + alive);
        }
        if (!server.apiServerProcess().isAlive()) {
            out.add("kube-apiserver is not running");
        }
        if (!server.etcdProcess().isAlive()) {
            out.add("etcd is not running");
        }
        for (ReplicaPod p : pods) {
            try {
                if (!Files.readString(p.clockFile()).strip().equals("+0")) {
                    out.add("pod " + p.name() + " still has a clock offset");
                }
            } catch (IOException e) {
                out.add("cannot read " + p.clockFile());
            }
        }
        return out;
    }

    public Optional<Path> auditLog() {
        return server.auditLog();
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException e) {
            // shutting down: the hook does it
        }
        stopAll();
    }

    private synchronized void stopAll() {
        if (closed) {
            return;
        }
        closed = true;
        for (ReplicaPod p : pods) {
            p.killContainer(true);
        }
        for (ReplicaPod p : gone) {
            p.killContainer(true);
        }
        // Whatever else runs in a pod's cgroups (stress-ng of an interrupted StressChaos).
        cgroups.leftoverPids().forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        proxy.close();
        cgroups.removeAll();
        // The server's record outlives it beside the replicas' logs, for reading a verdict again afterwards.
        server.auditLog().ifPresent(log -> {
            try {
                java.nio.file.Files.copy(log, workDir.resolve("audit.log"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } catch (java.io.IOException | RuntimeException e) {
                LocalTopology.log.atWarn().addKeyValue("error", e.toString()).log("could not keep the audit log");
            }
        });
        server.close();
    }
}
