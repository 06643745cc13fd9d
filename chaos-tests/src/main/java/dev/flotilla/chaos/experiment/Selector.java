package dev.flotilla.chaos.experiment;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Which pods an experiment may act on ({@code spec.selector}): pods in one of {@code namespaces}
 * (any when empty) carrying every label of {@code labels} and meeting every requirement of
 * {@code expressions} (Chaos Mesh's {@code expressionSelectors}, Kubernetes' label selector
 * requirements), or, when {@code pods} is not empty, exactly the pods it names per namespace.
 */
public record Selector(List<String> namespaces, Map<String, String> labels, List<Requirement> expressions,
        Map<String, List<String>> pods) {

    public Selector {
        namespaces = List.copyOf(namespaces);
        labels = Map.copyOf(labels);
        expressions = List.copyOf(expressions);
        pods = Map.copyOf(pods);
        if (namespaces.isEmpty() && labels.isEmpty() && expressions.isEmpty() && pods.isEmpty()) {
            throw new IllegalArgumentException("an empty selector would select every pod of the cluster");
        }
    }

    /** A selector by namespaces and labels only. */
    public Selector(List<String> namespaces, Map<String, String> labels, Map<String, List<String>> pods) {
        this(namespaces, labels, List.of(), pods);
    }

    /**
     * One label requirement: {@code In} and {@code NotIn} take values, {@code Exists} and
     * {@code DoesNotExist} none, as a Kubernetes {@code LabelSelectorRequirement}.
     */
    public record Requirement(String key, String operator, List<String> values) {
        private static final Set<String> OPERATORS = Set.of("In", "NotIn", "Exists", "DoesNotExist");

        public Requirement {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(operator, "operator");
            values = List.copyOf(values);
            if (key.isEmpty()) {
                throw new IllegalArgumentException("an expression selector needs a key");
            }
            if (!OPERATORS.contains(operator)) {
                throw new IllegalArgumentException("operator '" + operator + "' of expression selector " + key
                        + " is not In, NotIn, Exists or DoesNotExist");
            }
            boolean takesValues = operator.equals("In") || operator.equals("NotIn");
            if (takesValues == values.isEmpty()) {
                throw new IllegalArgumentException("expression selector " + key + " " + operator
                        + (takesValues ? " needs values" : " takes no values"));
            }
        }

        boolean matches(Map<String, String> podLabels) {
            String v = podLabels.get(key);
            return switch (operator) {
                case "In" -> v != null && values.contains(v);
                case "NotIn" -> v == null || !values.contains(v);
                case "Exists" -> v != null;
                default -> v == null;
            };
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
        return labels.entrySet().stream().allMatch(e -> e.getValue().equals(podLabels.get(e.getKey())))
                && expressions.stream().allMatch(r -> r.matches(podLabels));
    }
}
