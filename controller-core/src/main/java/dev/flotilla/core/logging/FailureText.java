package dev.flotilla.core.logging;

import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The text a log line gives a failure: short, one line, no text twice. fabric8's exceptions repeat the server's
 * message in their own, and wrappers repeat their cause's; {@code e.toString()} of a refused list is some 3 KB.
 *
 * <pre>{@code
 * String text = FailureText.of(new java.util.concurrent.CompletionException(new IllegalStateException("closed")));
 * // "IllegalStateException: closed"
 * }</pre>
 */
public final class FailureText {

    private FailureText() {
    }

    /**
     * One short line for a failure: for an API answer {@code HTTP 403 Forbidden: <the server's message>}, otherwise
     * the innermost cause's type and first message line; wrappers (CompletionException and the like) are skipped, so
     * no text appears twice.
     */
    public static String of(Throwable t) {
        Throwable e = t;
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof KubernetesClientException k && k.getCode() > 0) {
                String reason = k.getStatus() == null || k.getStatus().getReason() == null ? "" : " " + k.getStatus().getReason();
                String message = k.getStatus() == null || k.getStatus().getMessage() == null ? "" : k.getStatus().getMessage();
                return "HTTP " + k.getCode() + reason + (message.isBlank() ? "" : ": " + firstLine(message));
            }
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        return root.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + firstLine(m));
    }

    private static String firstLine(String s) {
        return s.strip().lines().findFirst().orElse("");
    }

}
