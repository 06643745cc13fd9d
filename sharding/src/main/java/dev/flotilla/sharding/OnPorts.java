package dev.flotilla.sharding;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a sharding state machine that runs only on its ports ({@link LeaseStore}, {@link LeaseView},
 * {@link ShardWork}, {@link Lane}, {@link MonotonicClock}): no fabric8 client, no manager, no real
 * clock or sleep. The architecture tests check it; it is what lets the simulation run these
 * classes on a virtual clock, and what keeps a protocol change local to them.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.TYPE)
@interface OnPorts {
}
