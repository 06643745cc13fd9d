package dev.flotilla.sharding;

import java.time.Clock;
import java.util.Objects;

/**
 * What one replica's sharding state machines run on: the monotonic clock that judges every
 * deadline, the wall clock that only stamps what is written, the lane they run on, the Lease
 * store they write and the view of the Leases the watch delivers. Production builds these on
 * fabric8 ({@link Sharding}); the simulation on one virtual timeline.
 */
record NodePorts(MonotonicClock clock, Clock wall, Lane lane, LeaseStore store, LeaseView view) {

    NodePorts {
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(wall, "wall");
        Objects.requireNonNull(lane, "lane");
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(view, "view");
    }
}
