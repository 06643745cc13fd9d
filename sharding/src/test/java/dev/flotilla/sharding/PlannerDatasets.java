package dev.flotilla.sharding;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** The namespace sets the planner's balance figures are taken on, and today's equal-width figure for them. */
final class PlannerDatasets {

    static final Set<String> THREE = Set.of("replica-0", "replica-1", "replica-2");

    private PlannerDatasets() {
    }

    /** team-01..team-99, 10 objects each: names that differ only at the end, which FNV-1a crowds. */
    static Map<String, Long> teams() {
        Map<String, Long> m = new TreeMap<>();
        for (int i = 1; i <= 99; i++) {
            m.put("team-%02d".formatted(i), 10L);
        }
        return m;
    }

    /** 00-bench..49-bench, 100 objects each: the end-to-end benchmark's sharded groups at N = 5,000. */
    static Map<String, Long> benchmark() {
        Map<String, Long> m = new TreeMap<>();
        for (int i = 0; i < 50; i++) {
            m.put("%02d-bench".formatted(i), 100L);
        }
        return m;
    }

    /** tenant-0001..tenant-2000, 5 objects each. */
    static Map<String, Long> tenants() {
        Map<String, Long> m = new TreeMap<>();
        for (int i = 1; i <= 2000; i++) {
            m.put("tenant-%04d".formatted(i), 5L);
        }
        return m;
    }

    /** 300 English words (test resource), 5 objects each. */
    static Map<String, Long> words() {
        Map<String, Long> m = new TreeMap<>();
        for (String w : wordList()) {
            m.put(w, 5L);
        }
        return m;
    }

    static List<String> wordList() {
        try (InputStream in = PlannerDatasets.class.getResourceAsStream("/namespace-words.txt")) {
            if (in == null) {
                throw new IllegalStateException("namespace-words.txt is not on the test class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** 5 namespaces hold half the objects (2000, 1200, 800, 600, 400), 250 others 20 each; the largest is below the mean. */
    static Map<String, Long> skewed() {
        Map<String, Long> m = new TreeMap<>();
        long[] heavy = {2000, 1200, 800, 600, 400};
        for (int i = 0; i < heavy.length; i++) {
            m.put("big-" + (i + 1), heavy[i]);
        }
        for (int i = 1; i <= 250; i++) {
            m.put("small-%03d".formatted(i), 20L);
        }
        return m;
    }

    /** One namespace of 6000 objects, above the mean of 3333 with three members, and 200 of 20. */
    static Map<String, Long> oneGiant() {
        Map<String, Long> m = new TreeMap<>();
        m.put("giant", 6000L);
        for (int i = 1; i <= 200; i++) {
            m.put("app-%03d".formatted(i), 20L);
        }
        return m;
    }

    static Map<String, Map<String, Long>> all() {
        Map<String, Map<String, Long>> m = new LinkedHashMap<>();
        m.put("team-01..99 x10", teams());
        m.put("tenant-0001..2000 x5", tenants());
        m.put("300 words x5", words());
        m.put("skewed 5 heavy + 250x20", skewed());
        m.put("one giant 6000 + 200x20", oneGiant());
        return m;
    }

    /**
     * Today's behaviour: ShardSpace's equal-width shards, owners by ShardAssigner (balanced by shard
     * count); objects per member, max over mean.
     */
    static double equalWidthMaxOverMean(Map<String, Long> objects, int shards, Set<String> members) {
        ShardSpace space = new ShardSpace(shards);
        long[] perShard = new long[shards];
        objects.forEach((ns, n) -> perShard[space.shardOf(ns)] += n);
        Map<Integer, String> owners = ShardAssigner.plan(shards, Map.of(), members);
        Map<String, Long> load = new TreeMap<>();
        members.forEach(m -> load.put(m, 0L));
        owners.forEach((s, m) -> load.merge(m, perShard[s], Long::sum));
        long total = objects.values().stream().mapToLong(Long::longValue).sum();
        long max = load.values().stream().mapToLong(Long::longValue).max().orElse(0);
        return max * (double) members.size() / total;
    }
}
