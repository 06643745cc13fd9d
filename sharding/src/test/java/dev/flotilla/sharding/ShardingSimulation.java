package dev.flotilla.sharding;

import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One seeded run of several replicas' real sharding state machines ({@link ShardingNode}) against
 * a simulated API server, on one virtual timeline, through random delays, freezes (SIGSTOP),
 * partitions, kills with restarts, graceful leaves with rejoins, slow networks and hand edits of
 * shard Leases. It checks, from outside the replicas:
 *
 * <ul>
 *   <li><b>one owner</b>: never two live replicas admitted for one shard (or both counting as the
 *       coordinator) at the same instant, frozen replicas counted as admitted;</li>
 *   <li><b>no orphan</b>: once the faults stop (the last one ended and every restarted replica has
 *       joined again; a restart with the same identity first waits out its predecessor's membership
 *       Lease, lease + retry, as proof that no twin lives), no shard goes without an active owner
 *       for longer than the lease duration plus the retry period;</li>
 *   <li><b>balance</b>: at the end every replica is a member, every shard is active on exactly one
 *       of them, each holds {@code floor(S/N)} or {@code ceil(S/N)} shards as {@link ShardAssigner}
 *       promises, the published desired owners agree, and exactly one replica leads.</li>
 * </ul>
 *
 * The same seed replays the same run, event for event.
 */
final class ShardingSimulation {

    static final Duration LEASE = Duration.ofSeconds(6);
    static final Duration RENEW = Duration.ofSeconds(4);
    static final Duration RETRY = Duration.ofSeconds(1);
    static final Duration DRAIN = Duration.ofSeconds(1);
    private static final Duration SAMPLE = Duration.ofMillis(10);
    private static final String GROUP = "sim";
    /** How often a drain never ends (a reconcile ignoring its interrupt) while faults are injected; never afterwards. */
    private static final double STUCK_DRAIN = 0.05;
    private static final Duration JOIN_BACKOFF = Duration.ofSeconds(1);
    /** Print the history of passing runs too (with -Dflotilla.sim.seed=S, to see how a run went). */
    static final boolean EXPLAIN = Boolean.getBoolean("flotilla.sim.explain");

    /** What one run found; {@code violations} empty when every invariant held. */
    record Outcome(long seed, int replicas, int shards, int faults, long events, double virtualSeconds, long leaseWrites,
            long maxOrphanMillis, List<String> violations, List<String> history) {

        boolean ok() {
            return violations.isEmpty();
        }

        String describe() {
            return String.format(Locale.ROOT, "seed %d: %d replicas, %d shards, %d faults, %d events, %.1f s simulated, "
                    + "%d lease writes, longest orphan after the faults %d ms%s", seed, replicas, shards, faults, events,
                    virtualSeconds, leaseWrites, maxOrphanMillis,
                    ok() && !EXPLAIN ? "" : "\n  violations:\n    " + String.join("\n    ", violations.subList(0, Math.min(10,
                            violations.size()))) + "\n  history:\n    " + String.join("\n    ", history));
        }
    }

    private final long seed;
    private final SimWorld world;
    private final Random random;
    private final SimLeaseServer server;
    private final int replicaCount;
    private final int shards;
    private final Map<String, SimProcess> live = new TreeMap<>();
    private final Map<String, Integer> incarnations = new HashMap<>();
    private final Map<String, Duration> skews = new HashMap<>();
    private final Map<SimProcess, long[]> admittedSeen = new HashMap<>();
    private final Map<SimProcess, Long> leadingSeen = new HashMap<>();
    private final List<String> violations = new ArrayList<>();
    private final List<String> history = new ArrayList<>();
    /** Per shard: when it was admitted or refused where, and what was written to its Lease; printed for a failing shard. */
    private final Map<Integer, List<Note>> timeline = new HashMap<>();

    /** One line of a shard's timeline, formatted only if a run fails. */
    private record Note(long atNanos, String what, Object detail) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%8.3f s  %s%s", (atNanos - SimWorld.EPOCH_NANOS) / 1e9, what,
                    detail == null ? "" : detail);
        }
    }
    private long quietAt;
    private boolean faultsOver;
    /** Replicas leaving gracefully: the faults are not over before they are done (or killed meanwhile). */
    private final java.util.Set<SimProcess> leaving = new java.util.HashSet<>();
    /** Replicas (re)started and not yet joined. */
    private final java.util.Set<SimProcess> joining = new java.util.HashSet<>();
    private int faults;

    private ShardingSimulation(long seed) {
        this.seed = seed;
        this.world = new SimWorld(seed);
        this.random = world.random();
        this.server = new SimLeaseServer(world);
        this.replicaCount = 2 + random.nextInt(4);
        this.shards = new int[] {4, 8, 12, 16}[random.nextInt(4)];
        world.afterEvent(o -> check((SimProcess) o));
        LeaseNaming naming = new LeaseNaming(GROUP);
        server.onWrite(lease -> naming.shardOf(lease.getMetadata().getName()).ifPresent(shard -> note(shard, "lease: ",
                new Object() {
                    @Override
                    public String toString() {
                        return "holder '" + Leases.holderOf(lease) + "', desired '" + java.util.Optional.ofNullable(
                                lease.getMetadata().getAnnotations()).map(a -> a.getOrDefault(
                                        LeaseNaming.ANNOTATION_DESIRED_OWNER, "")).orElse("") + "'";
                    }
                })));
    }

    static Outcome run(long seed) {
        return new ShardingSimulation(seed).run();
    }

    private Outcome run() {
        for (int i = 0; i < replicaCount; i++) {
            String identity = "r" + i;
            skews.put(identity, Duration.ofSeconds(random.nextInt(601) - 300)); // wall clocks up to 5 min apart
            world.after(Duration.ofMillis(random.nextInt(2000)), null, () -> start(identity));
        }
        long faultsFrom = at(Duration.ofSeconds(8));
        long faultsUntil = faultsFrom + Duration.ofSeconds(10 + random.nextInt(25)).toNanos();
        quietAt = faultsFrom;
        for (long t = faultsFrom; t < faultsUntil; t += Duration.ofMillis(500 + random.nextInt(5500)).toNanos()) {
            long when = t;
            world.at(when, null, this::fault);
            faults++;
        }
        world.runUntil(faultsUntil);
        // Faults started before now may still last (a long freeze, a restart to come, a leave not yet done): wait
        // until they are over.
        while (world.nanoTime() < quietAt || leaving.stream().anyMatch(p -> !p.killed())
                || joining.stream().anyMatch(p -> !p.killed())) {
            world.runUntil(Math.max(quietAt, world.nanoTime() + Duration.ofMillis(100).toNanos()));
        }
        long quiet = world.nanoTime();
        // A reconcile that ignores its interrupt is a fault too: from here on every drain ends.
        faultsOver = true;
        live.values().forEach(p -> p.work.stuckDrain = 0);
        long[] lastOwned = new long[shards];
        long[] longestOrphan = new long[shards];
        java.util.Arrays.fill(lastOwned, quiet);
        long end = quiet + LEASE.multipliedBy(2).plus(Duration.ofSeconds(8)).toNanos();
        for (long t = quiet; t <= end; t += SAMPLE.toNanos()) {
            world.runUntil(t);
            for (int s = 0; s < shards; s++) {
                if (ownedNow(s)) {
                    lastOwned[s] = t;
                } else {
                    longestOrphan[s] = Math.max(longestOrphan[s], t - lastOwned[s]);
                }
            }
        }
        long maxOrphan = 0;
        int worst = 0;
        long orphanBound = LEASE.plus(RETRY).toNanos();
        for (int s = 0; s < shards; s++) {
            if (longestOrphan[s] > maxOrphan) {
                maxOrphan = longestOrphan[s];
                worst = s;
            }
            if (longestOrphan[s] > orphanBound) {
                violations.add(String.format(Locale.ROOT, "shard %d had no active owner for %d ms after the faults stopped "
                        + "at %.3f s (bound: lease + retry = %d ms)", s, longestOrphan[s] / 1_000_000,
                        (quiet - SimWorld.EPOCH_NANOS) / 1e9, orphanBound / 1_000_000));
                history.add("timeline of shard " + s + ":");
                history.addAll(timelineOf(s));
            }
        }
        if (EXPLAIN) {
            history.add("faults over at " + (quiet - SimWorld.EPOCH_NANOS) / 1_000_000 + " ms; timeline of shard " + worst
                    + ", orphaned longest:");
            history.addAll(timelineOf(worst));
        }
        checkBalance();
        live.values().stream().filter(p -> p.fatal != null)
                .forEach(p -> violations.add(p.holder + " stopped on a fatal loss: " + p.fatal));
        return new Outcome(seed, replicaCount, shards, faults, world.eventsRun(),
                (world.nanoTime() - SimWorld.EPOCH_NANOS) / 1e9, server.writes(), maxOrphan / 1_000_000,
                List.copyOf(violations), List.copyOf(history));
    }

    private long at(Duration d) {
        return SimWorld.EPOCH_NANOS + d.toNanos();
    }

    private ShardingConfig config(String identity) {
        return ShardingConfig.defaults(identity, "sim").withGroup(GROUP).withShards(shards).withTimings(LEASE, RENEW, RETRY)
                .withDrainTimeout(DRAIN);
    }

    private void start(String identity) {
        int incarnation = incarnations.merge(identity, 1, Integer::sum);
        SimProcess p = new SimProcess(world, server, config(identity), incarnation, skews.get(identity));
        live.put(identity, p);
        admittedSeen.put(p, new long[shards]);
        leadingSeen.put(p, 0L);
        log("start " + p.holder);
        p.work.stuckDrain = faultsOver ? 0 : STUCK_DRAIN;
        p.work.onStuck = until -> {
            log(p.holder + ": a reconcile ignores its interrupt; the drain gives up and the lease is left to expire");
            quiet(until);
        };
        joining.add(p);
        p.start().whenComplete((ok, error) -> {
            joining.remove(p);
            // A restarted replica is back once it has joined: with the same identity it first waits out its
            // predecessor's membership Lease (lease + retry), by design, as proof that no twin is alive.
            quiet(world.nanoTime());
            if (error != null) {
                // As a pod whose process exits on a failed join: the kubelet starts it again after a back-off.
                log(p.holder + " could not join (" + error + "); restarting in " + JOIN_BACKOFF.toMillis() + " ms");
                p.kill();
                live.remove(p.identity, p);
                world.after(JOIN_BACKOFF, null, () -> start(p.identity));
                quiet(world.nanoTime() + JOIN_BACKOFF.toNanos());
            }
        });
    }

    private void fault() {
        List<SimProcess> running = live.values().stream().filter(p -> !p.killed()).toList();
        if (running.isEmpty()) {
            return;
        }
        SimProcess p = running.get(random.nextInt(running.size()));
        long now = world.nanoTime();
        int kind = random.nextInt(100);
        if (kind < 25) {
            Duration d = Duration.ofMillis(200 + random.nextInt(12_000));
            log("freeze " + p.holder + " for " + d.toMillis() + " ms");
            p.freeze(d);
            quiet(now + d.toNanos());
        } else if (kind < 45) {
            Duration d = Duration.ofMillis(200 + random.nextInt(10_000));
            log("partition " + p.holder + " for " + d.toMillis() + " ms");
            p.partition(d);
            quiet(now + d.toNanos());
        } else if (kind < 62) {
            Duration back = Duration.ofMillis(500 + random.nextInt(8000));
            log("kill " + p.holder + ", restart in " + back.toMillis() + " ms");
            p.kill();
            live.remove(p.identity);
            String identity = p.identity;
            world.after(back, null, () -> start(identity));
            quiet(now + back.toNanos());
        } else if (kind < 74) {
            Duration back = Duration.ofMillis(500 + random.nextInt(5000));
            log("graceful leave of " + p.holder + ", rejoin " + back.toMillis() + " ms after it left");
            leaving.add(p);
            p.node.leave().whenComplete((ok, error) -> {
                leaving.remove(p);
                log("left: " + p.holder);
                p.kill(); // the process exits
                live.remove(p.identity, p);
                world.after(back, null, () -> start(p.identity));
                quiet(world.nanoTime() + back.toNanos()); // a frozen replica leaves late: the fault lasts until it is back
            });
            quiet(now + RENEW.multipliedBy(2).plus(DRAIN).plus(back).toNanos());
        } else if (kind < 88) {
            Duration d = Duration.ofMillis(1000 + random.nextInt(9000));
            SimPeer.Network net = p.network();
            long delay = Duration.ofMillis(200 + random.nextInt(1800)).toNanos();
            long watch = Duration.ofMillis(200 + random.nextInt(2800)).toNanos();
            log("slow network for " + p.holder + " (requests up to " + delay / 1_000_000 + " ms, watch up to "
                    + watch / 1_000_000 + " ms) for " + d.toMillis() + " ms");
            net.maxDelayNanos = delay;
            net.watchMaxDelayNanos = watch;
            net.slowUntil = Math.max(net.slowUntil, now + d.toNanos());
            world.after(d, null, () -> {
                if (world.nanoTime() >= net.slowUntil) { // overlapping slow spells end with the last one
                    net.reset();
                }
            });
            quiet(now + d.toNanos() + watch);
        } else if (kind < 94) {
            int shard = random.nextInt(shards);
            log("shard lease " + shard + " deleted by hand");
            server.deleteNow(new LeaseNaming(GROUP).shardLease(shard));
        } else {
            int shard = random.nextInt(shards);
            log("shard lease " + shard + " edited by hand to name holder 'mallory'");
            server.edit(new LeaseNaming(GROUP).shardLease(shard), l -> new LeaseBuilder(l).editOrNewSpec()
                    .withHolderIdentity("mallory").withRenewTime(java.time.ZonedDateTime.now(world.wall(Duration.ZERO)))
                    .withLeaseDurationSeconds((int) LEASE.toSeconds()).endSpec().build());
        }
    }

    private void note(int shard, String what, Object detail) {
        timeline.computeIfAbsent(shard, k -> new ArrayList<>()).add(new Note(world.nanoTime(), what, detail));
    }

    private List<String> timelineOf(int shard) {
        return timeline.getOrDefault(shard, List.of()).stream().map(Note::toString).toList();
    }

    private void quiet(long until) {
        quietAt = Math.max(quietAt, until);
    }

    private void log(String what) {
        history.add(String.format(Locale.ROOT, "%8.3f s  %s", (world.nanoTime() - SimWorld.EPOCH_NANOS) / 1e9, what));
    }

    /** After every event of {@code p}: a shard it newly admits (or admits for longer) must not be admitted anywhere else now. */
    private void check(SimProcess p) {
        long now = world.nanoTime();
        long[] seen = admittedSeen.get(p);
        if (seen == null || p.killed()) {
            return;
        }
        for (int s = 0; s < shards; s++) {
            long until = p.node.admittedUntil(s);
            if (until > seen[s] && until > now) {
                for (SimProcess q : live.values()) {
                    if (q != p && !q.killed() && q.node.admittedUntil(s) > now) {
                        violations.add(String.format(Locale.ROOT, "%.3f s: shard %d admitted on %s (until +%d ms) and on %s "
                                + "(until +%d ms)", (now - SimWorld.EPOCH_NANOS) / 1e9, s, p.holder,
                                (until - now) / 1_000_000, q.holder, (q.node.admittedUntil(s) - now) / 1_000_000));
                    }
                }
            }
            if ((until > now) != (seen[s] > now) || until > seen[s] + RENEW.toNanos() / 2) {
                note(s, p.holder, until > now ? " admits until +" + (until - now) / 1_000_000 + " ms" : " refuses");
            }
            seen[s] = until;
        }
        long leading = p.node.leadingUntil();
        if (leading > leadingSeen.get(p) && leading > now) {
            for (SimProcess q : live.values()) {
                if (q != p && !q.killed() && q.node.leadingUntil() > now) {
                    violations.add(String.format(Locale.ROOT, "%.3f s: both %s and %s count as the coordinator",
                            (now - SimWorld.EPOCH_NANOS) / 1e9, p.holder, q.holder));
                }
            }
        }
        leadingSeen.put(p, leading);
    }

    private boolean ownedNow(int shard) {
        long now = world.nanoTime();
        for (SimProcess p : live.values()) {
            if (!p.killed() && !p.frozenAt(now) && p.node.admittedUntil(shard) > now) {
                return true;
            }
        }
        return false;
    }

    private void checkBalance() {
        long now = world.nanoTime();
        Map<String, Set<Integer>> held = new LinkedHashMap<>();
        int leaders = 0;
        for (SimProcess p : live.values()) {
            held.put(p.identity, new TreeSet<>(p.node.activeShards()));
            if (p.node.isCoordinator() && p.node.leadingUntil() > now) {
                leaders++;
            }
        }
        if (held.size() != replicaCount) {
            violations.add("at the end " + held.size() + " of " + replicaCount + " replicas run: " + held.keySet());
            return;
        }
        if (leaders != 1) {
            violations.add("at the end " + leaders + " replicas lead");
        }
        int min = shards / replicaCount;
        int max = (shards + replicaCount - 1) / replicaCount;
        Map<Integer, String> owner = new TreeMap<>();
        held.forEach((identity, mine) -> {
            if (mine.size() < min || mine.size() > max) {
                violations.add("at the end " + identity + " holds " + mine.size() + " shards, not " + min
                        + (min == max ? "" : " or " + max) + ": " + held);
            }
            for (int s : mine) {
                String before = owner.put(s, identity);
                if (before != null) {
                    violations.add("at the end shard " + s + " is active on " + before + " and " + identity);
                }
            }
        });
        if (owner.size() != shards) {
            violations.add("at the end only " + owner.size() + " of " + shards + " shards are active: " + held);
            for (int s = 0; s < shards; s++) {
                if (!owner.containsKey(s) || Boolean.getBoolean("flotilla.sim.all-timelines")) {
                    history.add("timeline of shard " + s + ":");
                    history.addAll(timelineOf(s));
                }
            }
        }
        LeaseNaming naming = new LeaseNaming(GROUP);
        owner.forEach((s, identity) -> {
            String desired = server.current(naming.shardLease(s)).map(l -> l.getMetadata().getAnnotations())
                    .map(a -> a.getOrDefault(LeaseNaming.ANNOTATION_DESIRED_OWNER, "")).orElse("(no lease)");
            if (!desired.equals(identity)) {
                violations.add("at the end shard " + s + " is active on " + identity + " but published for " + desired);
            }
        });
    }
}
