package dev.flotilla.chaos.experiment;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * How many of the pods a selector matches an experiment acts on, as Chaos Mesh defines
 * {@code spec.mode} and {@code spec.value}: {@code one} (one at random), {@code all},
 * {@code fixed} (value pods at random), {@code fixed-percent} (value percent of them, rounded
 * up, as Chaos Mesh 2.x's selector does), {@code random-max-percent} (a random percent between 0
 * and value, rounded up). A value of 0 is refused, as Chaos Mesh refuses it.
 */
public sealed interface Mode {

    record One() implements Mode {
    }

    record All() implements Mode {
    }

    record Fixed(int count) implements Mode {
        public Fixed {
            if (count < 1) {
                throw new IllegalArgumentException("fixed needs a value of at least 1, got " + count);
            }
        }
    }

    record FixedPercent(int percent) implements Mode {
        public FixedPercent {
            checkPercent(percent);
        }
    }

    record RandomMaxPercent(int percent) implements Mode {
        public RandomMaxPercent {
            checkPercent(percent);
        }
    }

    private static void checkPercent(int percent) {
        if (percent < 1 || percent > 100) {
            throw new IllegalArgumentException("a percent value must be 1-100, got " + percent);
        }
    }

    private static int ceilPercent(int n, int percent) {
        return (n * percent + 99) / 100;
    }

    /** Reads {@code spec.mode} and {@code spec.value}. */
    static Mode parse(String mode, String value) {
        return switch (mode) {
            case "one" -> new One();
            case "all" -> new All();
            case "fixed" -> new Fixed(number(mode, value));
            case "fixed-percent" -> new FixedPercent(number(mode, value));
            case "random-max-percent" -> new RandomMaxPercent(number(mode, value));
            default -> throw new IllegalArgumentException("unknown mode '" + mode
                    + "' (one, all, fixed, fixed-percent, random-max-percent)");
        };
    }

    private static int number(String mode, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("mode " + mode + " needs spec.value");
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("mode " + mode + " needs a whole number in spec.value, got '" + value + "'");
        }
    }

    /**
     * The pods this mode picks from {@code matched}, in name order, drawing from {@code random}
     * (a seeded generator makes a run reproducible).
     */
    default <T> List<T> pick(List<T> matched, Comparator<T> order, RandomGenerator random) {
        List<T> pool = new ArrayList<>(matched);
        pool.sort(order);
        int n = pool.size();
        int count = switch (this) {
            case One o -> Math.min(1, n);
            case All a -> n;
            case Fixed f -> Math.min(f.count(), n);
            case FixedPercent p -> ceilPercent(n, p.percent());
            case RandomMaxPercent r -> ceilPercent(n, random.nextInt(r.percent() + 1));
        };
        List<T> picked = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            picked.add(pool.remove(random.nextInt(pool.size())));
        }
        picked.sort(order);
        return List.copyOf(picked);
    }
}
