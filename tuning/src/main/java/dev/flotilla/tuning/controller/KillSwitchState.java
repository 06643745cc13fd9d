package dev.flotilla.tuning.controller;

import java.util.Objects;

/**
 * What the kill switch says right now: the tuner may act only on {@link Released}. Everything else, including
 * not knowing (the ConfigMap missing, not yet read, unreadable or forbidden), stops every action: the switch
 * fails closed, because an operator who flipped it must be able to rely on it even when the tuner cannot see it.
 *
 * <pre>{@code
 * KillSwitch killSwitch = new KillSwitch(client, "flotilla-system");
 * KillSwitchState state = killSwitch.get();
 * String why = switch (state) {
 *     case KillSwitchState.Released r -> "tuning may act";
 *     case KillSwitchState.Engaged e -> e.reason() + ": " + e.message();
 * };
 * }</pre>
 */
public sealed interface KillSwitchState {

    /** The switch is readable and set to {@code "false"}: actions may go ahead. */
    Released RELEASED = new Released();

    /** Actions may go ahead. */
    record Released() implements KillSwitchState {
    }

    /**
     * No action: {@code reason} is one of {@link #SWITCHED_OFF}, {@link #MISSING}, {@link #NOT_READ},
     * {@link #FORBIDDEN}, {@link #UNREADABLE}, {@link #INVALID_VALUE}, and {@code message} says what to do.
     */
    record Engaged(String reason, String message) implements KillSwitchState {
        public Engaged {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(message, "message");
        }
    }

    String SWITCHED_OFF = "SwitchedOff";
    String MISSING = "Missing";
    String NOT_READ = "NotRead";
    String FORBIDDEN = "Forbidden";
    String UNREADABLE = "Unreadable";
    String INVALID_VALUE = "InvalidValue";

    /** For tests and embedders without a ConfigMap: {@code true} is engaged ({@link #SWITCHED_OFF}), false released. */
    static KillSwitchState of(boolean engaged) {
        return engaged ? new Engaged(SWITCHED_OFF, "tuning is switched off") : RELEASED;
    }
}
