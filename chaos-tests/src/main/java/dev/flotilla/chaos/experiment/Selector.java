package dev.flotilla.chaos.experiment;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Which pods an experiment may act on ({@code spec.selector}): pods in one of {@code namespaces}
 * (any when empty) carrying every label of {@code labels}, or, when {@code pods} is not empty,
 * exactly the pods it names per namespace.
 */
public record Selector(List<String> namespaces, Map<String, String> labels, Map<String, List<String>> pods) {

    public Selector {
        namespaces = List.copyOf(namespaces);
        labels = Map.copyOf(labels);
        pods = Map.copyOf(pods);
        if (namespaces.isEmpty() && labels.isEmpty() && pods.isEmpty()) {
            throw new IllegalArgumentException("an empty selector would select every pod of the cluster");
        }
    }

    /** Whether a pod with this namespace, name and labels is selected. */
    public boolean matches(String namespace, String name, Map<String, String> podLabels) {
        Objects.requireNonNull(podLabels, "podLabels");
        if (!pods.isEmpty()) {
            return pods.getOrDefault(namespace, List.of()).contains(name);
        }
        if (!namespaces.isEmpty() && !namespaces.contains(namespace)) {
            return false;
        }
        return labels.entrySet().stream().allMatch(e -> e.getValue().equals(podLabels.get(e.getKey())));
    }
}
