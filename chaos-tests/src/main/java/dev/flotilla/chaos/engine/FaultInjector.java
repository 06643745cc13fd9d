package dev.flotilla.chaos.engine;

import dev.flotilla.chaos.experiment.Action;
import dev.flotilla.chaos.experiment.Experiment;
import dev.flotilla.chaos.experiment.InvalidExperimentException;
import dev.flotilla.testing.fault.ActiveRule;
import dev.flotilla.testing.fault.Fault;
import dev.flotilla.testing.fault.FaultRule;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out an experiment's action on the local topology and undoes it: each {@link Action}
 * becomes signals to replica processes, Pod and container status changes, fault proxy rules,
 * stress-ng in a pod's cgroups, a libfaketime offset, or a stop of etcd or the kube-apiserver.
 * What each approximates is written in the module's README.
 */
final class FaultInjector {

    private static final Logger log = LoggerFactory.getLogger(FaultInjector.class);
    static final Path STRESS_NG = Path.of("/usr/bin/stress-ng");
    private static final Duration API_READY_LIMIT = Duration.ofSeconds(90);

    private final LocalTopology topology;
    private final long seed;

    FaultInjector(LocalTopology topology, long seed) {
        this.topology = topology;
        this.seed = seed;
    }

    /**
     * Refuses, before anything is applied, an experiment this machine cannot carry out (one line
     * saying why): StressChaos without writable cgroups or stress-ng.
     */
    void check(Experiment e) {
        if (e.action() instanceof Action.Stress) {
            topology.cgroups().unavailable().ifPresent(why -> {
                throw new InvalidExperimentException(e.source() + ": StressChaos needs the pods' cgroups: " + why);
            });
            if (!STRESS_NG.toFile().canExecute()) {
                throw new InvalidExperimentException(e.source() + ": StressChaos needs stress-ng at " + STRESS_NG
                        + " (Debian's stress-ng package)");
            }
        }
    }

    /** A fault in place; {@link #end} undoes it (idempotent) and returns when the cluster is back. */
    interface Applied {
        void end();
    }

    Applied apply(Experiment e, List<ReplicaPod> targets) {
        return switch (e.action()) {
            case Action.PodKill k -> {
                List<ReplicaPod> deleted = new ArrayList<>();
                for (ReplicaPod p : targets) {
                    deleted.add(topology.deletePod(p));
                }
                // The "ReplicaSet" notices at once and creates replacements once the grace period has passed.
                yield once(() -> {
                    sleep(k.gracePeriod());
                    for (int i = 0; i < deleted.size(); i++) {
                        topology.createPod();
                    }
                });
            }
            case Action.PodFailure f -> {
                targets.forEach(p -> topology.killContainer(p, true));
                yield once(() -> targets.forEach(topology::startContainer));
            }
            case Action.ContainerKill c -> {
                targets.forEach(p -> topology.killContainer(p, true));
                // The kubelet restarts a killed container at once the first time.
                targets.forEach(topology::startContainer);
                yield () -> { };
            }
            case Action.Partition p -> {
                List<ActiveRule> rules = new ArrayList<>();
                for (ReplicaPod pod : targets) {
                    // No new connection, no answer on an open one, and what was open is cut: TCP sees nothing come back.
                    rules.add(topology.proxy().add(FaultRule.of(new Fault.RefuseConnections()).forIdentity(pod.name())));
                    rules.add(topology.proxy().add(FaultRule.of(new Fault.BlackHole()).forIdentity(pod.name())));
                    topology.proxy().cutConnections(pod.name());
                }
                yield removing(rules);
            }
            case Action.NetDelay d -> proxyRules(targets, ProxyFaults.delay(d, seed));
            case Action.NetLoss l -> proxyRules(targets, ProxyFaults.loss(l, seed));
            case Action.NetDuplicate d -> proxyRules(targets, ProxyFaults.duplicate(d, seed));
            case Action.NetBandwidth b -> proxyRules(targets, ProxyFaults.bandwidth(b));
            case Action.HttpFault h -> proxyRules(targets, ProxyFaults.http(h));
            case Action.Stress s -> {
                List<Process> stressors = new ArrayList<>();
                for (ReplicaPod pod : targets) {
                    stressors.add(startStress(pod, s, e.faultDuration()));
                }
                yield once(() -> stressors.forEach(FaultInjector::killTree));
            }
            case Action.TimeShift t -> {
                targets.forEach(p -> p.setClockOffset(t.offset()));
                yield once(() -> targets.forEach(p -> p.setClockOffset(Duration.ZERO)));
            }
            case Action.EtcdKill k -> {
                topology.server().etcdProcess().kill();
                yield once(() -> {
                    topology.server().etcdProcess().start();
                    awaitApiServer(topology.admin()); // its readiness includes etcd's
                });
            }
            case Action.ApiServerRestart r -> {
                topology.server().apiServerProcess().stop();
                yield once(() -> {
                    topology.server().apiServerProcess().start();
                    awaitApiServer(topology.admin());
                });
            }
            case Action.WatchCompaction w -> {
                long revision = Long.parseLong(topology.admin().configMaps().inNamespace(LocalTopology.NAMESPACE).list()
                        .getMetadata().getResourceVersion());
                topology.server().compactEtcd(revision);
                int cut = topology.proxy().cutWatches();
                log.atInfo().addKeyValue("revision", revision).addKeyValue("watchesCut", cut)
                        .log("etcd compacted and every watch cut: each re-watch from an older resourceVersion gets 410 Gone");
                yield () -> { };
            }
        };
    }

    private Applied proxyRules(List<ReplicaPod> targets, FaultRule rule) {
        List<ActiveRule> rules = new ArrayList<>();
        for (ReplicaPod pod : targets) {
            rules.add(topology.proxy().add(rule.forIdentity(pod.name())));
        }
        return removing(rules);
    }

    private static Applied removing(List<ActiveRule> rules) {
        return once(() -> rules.forEach(ActiveRule::remove));
    }

    private static Applied once(Runnable undo) {
        return new Applied() {
            private boolean done;

            @Override
            public synchronized void end() {
                if (!done) {
                    done = true;
                    undo.run();
                }
            }
        };
    }

    /** stress-ng in the pod's cgroups (so it competes for the pod's CPU shares and memory limit), for at most the duration. */
    private Process startStress(ReplicaPod pod, Action.Stress s, Duration duration) {
        List<String> command = new ArrayList<>(topology.cgroups().enterCommand(pod.name()));
        command.add(STRESS_NG.toString());
        if (s.cpuWorkers() > 0) {
            command.addAll(List.of("--cpu", String.valueOf(s.cpuWorkers()), "--cpu-load", String.valueOf(s.cpuLoad())));
        }
        if (s.memoryWorkers() > 0) {
            command.addAll(List.of("--vm", String.valueOf(s.memoryWorkers()), "--vm-bytes", s.memoryBytes() + "",
                    "--vm-keep"));
        }
        command.addAll(List.of("--timeout", Math.max(1, duration.toSeconds()) + "s", "--quiet"));
        try {
            return new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(pod.log().resolveSibling("stress-ng.log").toFile())).start();
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot start stress-ng for " + pod.name(), ex);
        }
    }

    static void killTree(Process p) {
        p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void awaitApiServer(KubernetesClient admin) {
        long deadline = System.nanoTime() + API_READY_LIMIT.toNanos();
        RuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try {
                String ready = admin.raw("/readyz");
                if (ready != null && ready.strip().equals("ok")) {
                    return;
                }
            } catch (RuntimeException e) {
                last = e;
            }
            sleep(Duration.ofMillis(250));
        }
        throw new IllegalStateException("the kube-apiserver was not ready again within " + API_READY_LIMIT
                + Optional.ofNullable(last).map(e -> ": " + e.getMessage()).orElse(""));
    }

    /** A Chaos Mesh HTTPChaos path pattern ({@code *} any run of characters) as a regular expression. */
    static Pattern pathPattern(String glob) {
        StringBuilder b = new StringBuilder();
        for (String part : glob.split("\\*", -1)) {
            if (!b.isEmpty()) {
                b.append(".*");
            }
            b.append(Pattern.quote(part));
        }
        return Pattern.compile(b.toString());
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
