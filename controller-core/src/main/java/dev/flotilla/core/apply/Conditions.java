package dev.flotilla.core.apply;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Standard {@code metav1.Condition} handling: one condition per type, lastTransitionTime changes
 * only when the status changes, observedGeneration records which spec the condition describes.
 *
 * <pre>{@code
 * HasMetadata source;               // the object whose status this is
 * List<Condition> current;          // its status.conditions
 * Clock clock = Clock.systemUTC();
 * List<Condition> next = Conditions.set(current, Conditions.READY, true,
 *         "Synced", "mirror is up to date", source.getMetadata().getGeneration(), clock);
 * }</pre>
 */
public final class Conditions {

    public static final String READY = "Ready";
    public static final String STATUS_TRUE = "True";
    public static final String STATUS_FALSE = "False";
    public static final String STATUS_UNKNOWN = "Unknown";

    private static final Pattern REASON = Pattern.compile("[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?");

    private Conditions() {
    }

    /** Returns a new list with the condition of {@code type} set; the input is not changed. */
    public static List<Condition> set(List<Condition> current, String type, boolean status, String reason,
            String message, Long observedGeneration, Clock clock) {
        return set(current, type, status ? STATUS_TRUE : STATUS_FALSE, reason, message, observedGeneration, clock);
    }

    public static List<Condition> set(List<Condition> current, String type, String status, String reason,
            String message, Long observedGeneration, Clock clock) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(clock, "clock");
        if (!STATUS_TRUE.equals(status) && !STATUS_FALSE.equals(status) && !STATUS_UNKNOWN.equals(status)) {
            throw new IllegalArgumentException("condition status must be True, False or Unknown, got " + status);
        }
        if (reason == null || !REASON.matcher(reason).matches() || reason.length() > 1024) {
            throw new IllegalArgumentException("condition reason must be CamelCase letters/digits, got '" + reason + "'");
        }
        List<Condition> next = new ArrayList<>();
        Condition previous = null;
        for (Condition c : current == null ? List.<Condition>of() : current) {
            if (type.equals(c.getType())) {
                previous = c;
            } else {
                next.add(c);
            }
        }
        String transition = previous != null && status.equals(previous.getStatus())
                && previous.getLastTransitionTime() != null
                ? previous.getLastTransitionTime()
                : Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString();
        next.add(new ConditionBuilder().withType(type).withStatus(status).withReason(reason)
                .withMessage(message == null ? "" : truncate(message, 32768))
                .withObservedGeneration(observedGeneration).withLastTransitionTime(transition).build());
        return next;
    }

    public static Optional<Condition> find(List<Condition> conditions, String type) {
        return conditions == null ? Optional.empty()
                : conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
    }

    public static boolean isTrue(List<Condition> conditions, String type) {
        return find(conditions, type).map(c -> STATUS_TRUE.equals(c.getStatus())).orElse(false);
    }

    private static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max);
    }
}
