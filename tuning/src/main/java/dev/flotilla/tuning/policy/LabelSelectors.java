package dev.flotilla.tuning.policy;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import java.util.List;
import java.util.Map;

/**
 * Label-selector matching as the API server does it, for objects already listed: which workloads another
 * policy selects is decided from their labels without listing them again.
 *
 * <pre>{@code
 * LabelSelector selector = new io.fabric8.kubernetes.api.model.LabelSelectorBuilder().addToMatchLabels("app", "web").build();
 * boolean selected = LabelSelectors.matches(selector, Map.of("app", "web", "tier", "front")); // true
 * }</pre>
 */
public final class LabelSelectors {

    private LabelSelectors() {
    }

    /**
     * Whether {@code labels} satisfy every matchLabels entry and every requirement. An empty selector matches
     * nothing here (the tuner never treats "no selector" as "everything"); an unknown operator matches nothing.
     */
    public static boolean matches(LabelSelector selector, Map<String, String> labels) {
        Map<String, String> have = labels == null ? Map.of() : labels;
        Map<String, String> want = selector == null || selector.getMatchLabels() == null ? Map.of() : selector.getMatchLabels();
        List<LabelSelectorRequirement> reqs = selector == null || selector.getMatchExpressions() == null ? List.of()
                : selector.getMatchExpressions();
        if (want.isEmpty() && reqs.isEmpty()) {
            return false;
        }
        for (Map.Entry<String, String> e : want.entrySet()) {
            if (!e.getValue().equals(have.get(e.getKey()))) {
                return false;
            }
        }
        for (LabelSelectorRequirement r : reqs) {
            if (r == null || r.getKey() == null) {
                return false;
            }
            String value = have.get(r.getKey());
            List<String> values = r.getValues() == null ? List.of() : r.getValues();
            boolean ok = switch (String.valueOf(r.getOperator())) {
                case "In" -> value != null && values.contains(value);
                case "NotIn" -> value == null || !values.contains(value);
                case "Exists" -> have.containsKey(r.getKey());
                case "DoesNotExist" -> !have.containsKey(r.getKey());
                default -> false;
            };
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}
