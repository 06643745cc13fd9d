package dev.flotilla.tuning.recommend;

import java.util.Objects;

/**
 * Why part of a recommendation is what it is: the rule, the resource it concerns, and a message
 * with the signal values, written to the policy's status for the user.
 */
public record Finding(Rule rule, String resource, String message) {
    public Finding {
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(resource, "resource");
        Objects.requireNonNull(message, "message");
    }

    @Override
    public String toString() {
        return rule + "(" + resource + "): " + message;
    }
}
