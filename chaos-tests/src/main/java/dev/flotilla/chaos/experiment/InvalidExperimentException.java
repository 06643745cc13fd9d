package dev.flotilla.chaos.experiment;

/**
 * A chaos document the engine refuses: not a Chaos Mesh experiment, malformed, or asking for a
 * kind, action or field the local engine cannot carry out. The message is one line naming the
 * document, the field and why; nothing has been applied when it is thrown.
 */
public final class InvalidExperimentException extends RuntimeException {

    public InvalidExperimentException(String message) {
        super(message);
    }
}
