package dev.flotilla.tuning.guard;

import java.util.Optional;

/**
 * How many pods above its replica count a rollout may run: a Deployment's RollingUpdate {@code maxSurge}. Recreate
 * Deployments and StatefulSets surge by none (the caller passes 0 for them).
 *
 * <pre>{@code
 * int surge = Surge.pods(10, Optional.of("25%")); // 3: a percentage rounds up
 * }</pre>
 */
public final class Surge {

    /** The API server's default for a RollingUpdate Deployment's {@code maxSurge}. */
    public static final String DEFAULT = "25%";

    private Surge() {
    }

    /**
     * {@code maxSurge} resolved against {@code replicas}: an integer as it is, a percentage of the replicas rounded up
     * (the deployment controller's {@code GetScaledValueFromIntOrPercent(maxSurge, replicas, true)}); absent is
     * {@link #DEFAULT}.
     *
     * @throws IllegalArgumentException for a negative or malformed value (the API server refuses those too)
     */
    public static int pods(int replicas, Optional<String> maxSurge) {
        if (replicas < 0) {
            throw new IllegalArgumentException("replicas cannot be negative, got " + replicas);
        }
        String v = maxSurge.orElse(DEFAULT).trim();
        try {
            if (v.endsWith("%")) {
                long percent = Long.parseLong(v.substring(0, v.length() - 1));
                if (percent < 0) {
                    throw new IllegalArgumentException("maxSurge cannot be negative, got " + v);
                }
                return (int) Math.min(Integer.MAX_VALUE, Math.ceilDiv(percent * replicas, 100));
            }
            int pods = Integer.parseInt(v);
            if (pods < 0) {
                throw new IllegalArgumentException("maxSurge cannot be negative, got " + v);
            }
            return pods;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("maxSurge is neither a number nor a percentage: " + v, e);
        }
    }
}
