package dev.flotilla.testing.fault;

import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * A seeded random stream of one rule, safe to share between connections: uniform draws and
 * netem-style correlated ones ({@code next = c * previous + (1 - c) * fresh}). The algorithm is
 * named ({@code L64X128MixRandom}), so a seed gives the same numbers on every JDK.
 */
final class FaultRandom {

    private final RandomGenerator generator;
    private double last;
    private boolean primed;

    FaultRandom(long seed) {
        this.generator = RandomGeneratorFactory.of("L64X128MixRandom").create(seed);
    }

    /** A fresh uniform draw in [0, 1). */
    synchronized double uniform() {
        return generator.nextDouble();
    }

    /** True with probability {@code percent}/100 (100 without drawing, 0 never). */
    synchronized boolean chance(int percent) {
        if (percent >= 100) {
            return true;
        }
        if (percent <= 0) {
            return false;
        }
        return generator.nextDouble() * 100 < percent;
    }

    /**
     * A draw in [0, 1) correlated with the previous one, as netem's {@code get_crandom}: a weighted
     * mean of the previous answer and a fresh draw. The first answer is a fresh draw (netem starts
     * from 0, which biases its first values low).
     */
    synchronized double correlated(int correlationPercent) {
        double fresh = generator.nextDouble();
        if (!primed || correlationPercent == 0) {
            primed = true;
            last = fresh;
            return fresh;
        }
        double c = correlationPercent / 100.0;
        last = c * last + (1 - c) * fresh;
        return last;
    }
}
