package dev.flotilla.tuning.controller;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * How the tuning controller runs, as opposed to what a policy asks for.
 *
 * @param fieldManager the server-side-apply field manager of the tuner's template changes
 * @param resync       how often a policy is looked at again without any event (signals change on their own)
 * @param killSwitch   the operator's global stop: unless it reads {@link KillSwitchState.Released}, no action is taken
 * @param clock        wall clock for cool-downs and status times
 */
public record TuningSettings(String fieldManager, Duration resync, Supplier<KillSwitchState> killSwitch, Clock clock) {
    public TuningSettings {
        Objects.requireNonNull(fieldManager, "fieldManager");
        Objects.requireNonNull(resync, "resync");
        Objects.requireNonNull(killSwitch, "killSwitch");
        Objects.requireNonNull(clock, "clock");
    }

    public static TuningSettings defaults() {
        // Released: an embedder without a kill switch ConfigMap has chosen none (the CLI always installs one).
        return new TuningSettings("flotilla-tuner", Duration.ofMinutes(1), () -> KillSwitchState.RELEASED, Clock.systemUTC());
    }

    public TuningSettings withKillSwitch(Supplier<KillSwitchState> newKillSwitch) {
        return new TuningSettings(fieldManager, resync, newKillSwitch, clock);
    }

    public TuningSettings withResync(Duration newResync) {
        return new TuningSettings(fieldManager, newResync, killSwitch, clock);
    }
}
