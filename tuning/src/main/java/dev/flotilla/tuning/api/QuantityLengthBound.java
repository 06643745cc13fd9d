package dev.flotilla.tuning.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A build step after fabric8's CRD generator (the {@code process-classes} phase): gives every quantity
 * ({@code x-kubernetes-int-or-string}) in the generated CRD a {@code maxLength}. The API server estimates the cost
 * of a CEL rule from the longest string a field may hold; unbounded, the quantity comparisons of
 * {@link ContainerPolicy} are refused as too expensive, and fabric8's {@code @Size} does not apply to a quantity.
 *
 * <pre class="shell">{@code
 * java -cp tuning/target/classes dev.flotilla.tuning.api.QuantityLengthBound \
 *     tuning/target/classes/META-INF/fabric8/resourcetuningpolicies.flotilla.dev-v1.yml
 * }</pre>
 */
public final class QuantityLengthBound {

    /** The longest quantity accepted ("1234567890123456789Mi" is 21 characters). */
    public static final int MAX_LENGTH = 32;

    private static final String MARKER = "x-kubernetes-int-or-string: true";

    private QuantityLengthBound() {
    }

    /** {@code yaml} with a maxLength beside each int-or-string marker that has none yet (running twice changes nothing). */
    static String bound(String yaml) {
        List<String> lines = yaml.lines().toList();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            out.add(line);
            if (line.strip().equals(MARKER)) {
                String indent = line.substring(0, line.indexOf(MARKER));
                boolean already = lines.stream().skip(Math.max(0, i - 8)).limit(16)
                        .anyMatch(l -> l.equals(indent + "maxLength: " + MAX_LENGTH));
                if (!already) {
                    out.add(indent + "maxLength: " + MAX_LENGTH);
                }
            }
        }
        return String.join("\n", out) + "\n";
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: QuantityLengthBound <generated CRD yaml>");
        }
        Path file = Path.of(args[0]);
        String before = Files.readString(file, StandardCharsets.UTF_8);
        String after = bound(before);
        if (!after.equals(before)) {
            Files.writeString(file, after, StandardCharsets.UTF_8);
        }
    }
}
