package dev.flotilla.sharding;

/**
 * The clock every sharding deadline is measured on: {@link System#nanoTime()} in production
 * (CLOCK_MONOTONIC: it neither jumps with NTP nor stops for a frozen process), a virtual clock in
 * the simulation. Only differences between two readings of one replica's clock mean anything.
 */
@FunctionalInterface
interface MonotonicClock {

    long nanoTime();

    static MonotonicClock system() {
        return System::nanoTime;
    }
}
