package dev.flotilla.chaos.experiment;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A Chaos Mesh {@code Schedule} as the local engine runs it: {@code item} (one fault or a
 * workflow) fired every {@code every}, the first one interval after the schedule starts (as
 * Chaos Mesh's cron counts from the object's creation), {@code firings} times (a real Schedule
 * fires until it is deleted; locally it stops after that many, read from the
 * {@value ChaosDocuments#FIRINGS_ANNOTATION} annotation). Under {@link ConcurrencyPolicy#FORBID}
 * a firing is skipped while the previous one is still in place.
 *
 * @param every    {@code spec.schedule} as {@code @every <duration>}
 * @param firings  how many firings the engine waits for, 1 to {@value #MAX_FIRINGS}
 */
public record Schedule(String source, String name, Duration every, ConcurrencyPolicy concurrencyPolicy, int firings,
        ChaosPlan item) implements ChaosPlan {

    public static final int MAX_FIRINGS = 20;

    /** {@code spec.concurrencyPolicy}: Chaos Mesh's {@code Forbid} (its default) or {@code Allow}. */
    public enum ConcurrencyPolicy {
        FORBID, ALLOW
    }

    public Schedule {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(every, "every");
        Objects.requireNonNull(concurrencyPolicy, "concurrencyPolicy");
        Objects.requireNonNull(item, "item");
        if (every.isNegative() || every.isZero()) {
            throw new IllegalArgumentException("spec.schedule's interval must be positive, got " + every);
        }
        if (firings < 1 || firings > MAX_FIRINGS) {
            throw new IllegalArgumentException("firings must be 1-" + MAX_FIRINGS + ", got " + firings);
        }
        if (item instanceof Schedule) {
            throw new IllegalArgumentException("a Schedule cannot schedule a Schedule");
        }
        // Firings that overlap would apply one fault over another of the same kind, which the engine cannot undo apart.
        if (concurrencyPolicy == ConcurrencyPolicy.ALLOW && longest(item).compareTo(every) >= 0) {
            throw new IllegalArgumentException("concurrencyPolicy Allow with firings that last " + seconds(longest(item))
                    + " s every " + seconds(every) + " s would overlap them; the local engine does not stack faults "
                    + "(use Forbid, or an interval longer than the item)");
        }
    }

    /** How long one firing can last: the fault's duration, or the workflow's longest path. */
    public static Duration longest(ChaosPlan item) {
        return switch (item) {
            case Experiment e -> e.faultDuration();
            case Workflow w -> w.entry().longest();
            case Schedule s -> s.every().multipliedBy(s.firings()).plus(longest(s.item()));
        };
    }

    /** From the start until the last firing has ended, at most. */
    public Duration length() {
        return every.multipliedBy(firings).plus(longest(item));
    }

    @Override
    public String kind() {
        return "Schedule";
    }

    @Override
    public String describe() {
        return "Schedule(@every " + seconds(every) + "s x" + firings + ": " + item.describe() + ")";
    }

    @Override
    public List<Experiment> faults() {
        return item.faults();
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? String.valueOf(d.toSeconds()) : String.valueOf(d.toMillis() / 1000.0);
    }
}
