package dev.flotilla.sharding;

import dev.flotilla.sharding.audit.AuditTrail;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * One incarnation of a replica in the simulation: the real {@link ShardingNode} (membership,
 * coordinator, shard state machine) on a {@link SimPeer}, with faked controllers
 * ({@link SimShardWork}).
 */
final class SimProcess extends SimPeer {

    final int incarnation;
    final ShardingNode node;
    final SimShardWork work;
    String fatal;

    SimProcess(SimWorld world, SimLeaseServer server, ShardingConfig config, int incarnation, Duration wallSkew) {
        super(world, server, config, "i" + incarnation, wallSkew);
        this.incarnation = incarnation;
        this.work = new SimShardWork(world, this);
        // A registry without backends: every meter is a no-op, and cheap to make for thousands of processes.
        this.node = new ShardingNode(config, holder, ports, work,
                new ShardMetrics(new CompositeMeterRegistry(), identity, new LeaseNaming(config.group()).coordinatorLease()),
                AuditTrail.none(), why -> fatal = why);
    }

    /** Starts the watch (its first LIST is delivered at once), then joins. */
    CompletableFuture<Void> start() {
        watch();
        return node.join();
    }
}
