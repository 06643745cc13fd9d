package dev.flotilla.core.apply;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Adds and removes finalizers with JSON patches that test exactly what they change, so a
 * concurrent edit of another finalizer is never lost and the whole object is never rewritten.
 *
 * <pre>{@code
 * ConfigMap obj; // the object being reconciled
 * String finalizer = "flotilla.dev/cleanup";
 * if (Finalizers.isBeingDeleted(obj)) {
 *     // clean up what lives outside the cluster, then let the deletion finish:
 *     Finalizers.remove(client, obj, finalizer);
 * } else {
 *     obj = Finalizers.add(client, obj, finalizer);
 * }
 * }</pre>
 */
public final class Finalizers {

    private static final Pattern QUALIFIED = Pattern.compile("[a-z0-9.-]+/[A-Za-z0-9_.-]+");

    private Finalizers() {
    }

    public static boolean has(HasMetadata object, String finalizer) {
        List<String> f = object.getMetadata().getFinalizers();
        return f != null && f.contains(finalizer);
    }

    public static boolean isBeingDeleted(HasMetadata object) {
        return object.getMetadata().getDeletionTimestamp() != null;
    }

    /** Adds {@code finalizer} unless present; returns the object as the server now has it. */
    public static <T extends HasMetadata> T add(KubernetesClient client, T object, String finalizer) {
        requireQualified(finalizer);
        if (has(object, finalizer)) {
            return object;
        }
        List<String> current = object.getMetadata().getFinalizers();
        String patch = current == null || current.isEmpty()
                ? "[{\"op\":\"test\",\"path\":\"/metadata/uid\",\"value\":" + json(object.getMetadata().getUid()) + "},"
                        + "{\"op\":\"add\",\"path\":\"/metadata/finalizers\",\"value\":[" + json(finalizer) + "]}]"
                : "[{\"op\":\"add\",\"path\":\"/metadata/finalizers/-\",\"value\":" + json(finalizer) + "}]";
        return client.resource(object).patch(PatchContext.of(PatchType.JSON), patch);
    }

    /** Removes {@code finalizer} if present; returns the object as the server now has it. */
    public static <T extends HasMetadata> T remove(KubernetesClient client, T object, String finalizer) {
        requireQualified(finalizer);
        List<String> current = object.getMetadata().getFinalizers();
        int index = current == null ? -1 : current.indexOf(finalizer);
        if (index < 0) {
            return object;
        }
        // The test makes the patch fail (422) rather than remove someone else's finalizer if the list moved.
        String patch = "[{\"op\":\"test\",\"path\":\"/metadata/finalizers/" + index + "\",\"value\":" + json(finalizer) + "},"
                + "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/" + index + "\"}]";
        return client.resource(object).patch(PatchContext.of(PatchType.JSON), patch);
    }

    private static void requireQualified(String finalizer) {
        Objects.requireNonNull(finalizer, "finalizer");
        if (!QUALIFIED.matcher(finalizer).matches()) {
            throw new IllegalArgumentException("finalizer '" + finalizer + "' must be domain-qualified, like flotilla.dev/cleanup");
        }
    }

    private static String json(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
