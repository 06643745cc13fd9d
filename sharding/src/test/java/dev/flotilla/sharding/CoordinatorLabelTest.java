package dev.flotilla.sharding;

import static dev.flotilla.sharding.SimHarness.NAMING;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The coordinator's Pod label on a virtual clock: written on every change of role (cleared at start, set when elected,
 * removed on step-down and resignation), never again while the Pod shows it, and a label the API server refuses changes
 * nothing about leadership: it is retried at the next change of role or after {@link CoordinatorLabel#RETRY}.
 */
class CoordinatorLabelTest {

    private static final String COORDINATOR = NAMING.coordinatorLease();

    /** Records what it was asked to write; refuses while {@code refusing}. */
    private static final class Writer implements CoordinatorLabelWriter {
        final List<Boolean> sent = new ArrayList<>();
        final List<Boolean> taken = new ArrayList<>();
        boolean refusing;

        @Override
        public CompletableFuture<Void> write(boolean coordinator) {
            sent.add(coordinator);
            if (refusing) {
                return CompletableFuture.failedFuture(new IllegalStateException("pods \"r0\" is forbidden"));
            }
            taken.add(coordinator);
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public String pod() {
            return "ops/r0";
        }
    }

    private final SimHarness h = new SimHarness();
    private final Writer writer = new Writer();
    private SimPeer peer;
    private Coordinator coordinator;

    private void startReplica() {
        peer = h.peer("r0", "a", Duration.ZERO);
        CoordinatorLabel label = new CoordinatorLabel(Optional.of(writer), peer.lane, peer.ports.clock());
        coordinator = new Coordinator(SimHarness.config("r0"), peer.holder, peer.ports, h.work(peer), h.metrics("r0"), label);
        coordinator.start();
        h.every(peer, SimHarness.RETRY, () -> {
            coordinator.renew();
            label.tick();
        });
    }

    @Test
    void theLabelIsClearedAtStartSetWhenElectedAndRemovedWhenAnotherHolderIsSeen() {
        h.liveMember("r0", "r0_a");
        startReplica();
        h.run(Duration.ofMillis(50));
        assertThat(coordinator.isLeading()).isTrue();
        assertThat(writer.taken).as("a previous incarnation's label cleared, then set").containsExactly(false, true);
        h.run(Duration.ofSeconds(10));
        assertThat(writer.sent).as("nothing more while the Pod shows it").hasSize(2);
        h.setHolderByHand(COORDINATOR, "mallory");
        h.run(Duration.ofMillis(5));
        assertThat(coordinator.isLeading()).isFalse();
        assertThat(writer.taken).containsExactly(false, true, false);
    }

    @Test
    void resigningRemovesTheLabelBeforeTheLeaseIsFreed() {
        h.liveMember("r0", "r0_a");
        startReplica();
        h.run(Duration.ofMillis(50));
        h.onLane(peer, coordinator::leave);
        CompletableFuture<Void> resigned = h.onLane(peer, coordinator::resign);
        h.run(Duration.ofMillis(1));
        assertThat(writer.taken).containsExactly(false, true, false);
        h.run(Duration.ofMillis(50));
        assertThat(resigned).isCompleted();
        assertThat(h.holderOf(COORDINATOR)).isEmpty();
    }

    @Test
    void aRefusedLabelLeavesLeadershipAloneAndIsRetriedAtTheNextChangeOrAfterTheRetryPeriod() {
        h.liveMember("r0", "r0_a");
        writer.refusing = true;
        startReplica();
        h.run(Duration.ofMillis(50));
        assertThat(coordinator.isLeading()).as("elected whatever the label does").isTrue();
        assertThat(writer.sent).as("the change of role is tried at once").containsExactly(false, true);
        h.run(CoordinatorLabel.RETRY.minusSeconds(2));
        assertThat(writer.sent).as("not retried before the retry period").hasSize(2);
        h.run(Duration.ofSeconds(3));
        assertThat(writer.sent).as("retried once").containsExactly(false, true, true);
        assertThat(coordinator.isLeading()).isTrue();
        writer.refusing = false;
        h.run(CoordinatorLabel.RETRY);
        assertThat(writer.taken).containsExactly(true);
        h.run(CoordinatorLabel.RETRY.multipliedBy(2));
        assertThat(writer.sent).as("nothing once it is there").hasSize(4);
        assertThat(coordinator.isLeading()).isTrue();
    }
}
