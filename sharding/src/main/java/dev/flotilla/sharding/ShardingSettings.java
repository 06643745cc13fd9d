package dev.flotilla.sharding;

import dev.flotilla.core.settings.SettingsFile;
import dev.flotilla.core.settings.SettingsSection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * How a program's replica gets its {@link ShardingConfig}: the config's defaults (the one source
 * of them), then the {@link #SETTINGS} keys ({@code sharding.*}) of the settings file, then
 * command-line flags. The identity and the lease namespace default to the pod's name and namespace
 * from the downward API ({@code $POD_NAME}, {@code $POD_NAMESPACE}), else the hostname and
 * {@code default}.
 *
 * <p>Every problem names where the bad value came from: a flag is a usage error
 * ({@link Problem#flag}), a key of the file or an environment variable a configuration error.
 * Unknown keys are the file owner's to refuse ({@link SettingsFile#requireKnownKeys} with
 * {@link #SETTINGS} among the sections).
 *
 * <pre>{@code
 * ShardingSettings s = new ShardingSettings(System.getenv(), ShardingSettings::hostname);
 * SettingsFile file = SettingsFile.of("config flotilla.properties", Map.of("sharding.shards", "64"));
 * file.requireKnownKeys(List.of(ShardingSettings.SETTINGS));
 * Optional<ShardingConfig> config = s.resolve(file, ShardingSettings.Flags.none()); // empty: sharding off
 * }</pre>
 */
public final class ShardingSettings {

    /**
     * The settings file's {@code sharding.*} keys. No identity key on purpose: one file shared by
     * every replica would give them all one identity.
     */
    public static final SettingsSection SETTINGS = SettingsSection.of("sharding", "enabled", "lease-namespace", "group",
            "shards", "lease-duration", "renew-deadline", "retry-period");
    public static final String KEY_ENABLED = SETTINGS.key("enabled");
    public static final String KEY_LEASE_NAMESPACE = SETTINGS.key("lease-namespace");
    public static final String KEY_GROUP = SETTINGS.key("group");
    public static final String KEY_SHARDS = SETTINGS.key("shards");
    public static final String KEY_LEASE_DURATION = SETTINGS.key("lease-duration");
    public static final String KEY_RENEW_DEADLINE = SETTINGS.key("renew-deadline");
    public static final String KEY_RETRY_PERIOD = SETTINGS.key("retry-period");

    static final String ENV_POD_NAME = "POD_NAME";
    static final String ENV_POD_NAMESPACE = "POD_NAMESPACE";
    /** The replica's container name, for restart proof in a Pod with several containers (set it in the manifest). */
    static final String ENV_CONTAINER_NAME = "FLOTILLA_CONTAINER_NAME";
    static final String DEFAULT_LEASE_NAMESPACE = "default";

    /** What the command line said; null where a flag was not given. */
    public record Flags(boolean noSharding, String identity, String leaseNamespace, String group, Integer shards,
            Duration leaseDuration, Duration renewDeadline, Duration retryPeriod) {
        public static Flags none() {
            return new Flags(false, null, null, null, null, null, null, null);
        }
    }

    /**
     * An unusable setting. {@code flag} is the option to name in a usage error, or null when the
     * value came from the file or the environment (a configuration error).
     */
    public static final class Problem extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String flag;

        Problem(String flag, String message) {
            super(message);
            this.flag = flag;
        }

        public String flag() {
            return flag;
        }
    }

    /** A value and where it came from: a flag ("--shards"), a key ("sharding.shards"), "$POD_NAME", or null for a default. */
    private record Sourced<T>(T value, String source, boolean isFlag) {
    }

    private final Map<String, String> env;
    private final Supplier<String> hostname;

    public ShardingSettings(Map<String, String> env, Supplier<String> hostname) {
        this.env = Map.copyOf(env);
        this.hostname = hostname;
    }

    /**
     * The configuration, or empty when sharding is off ({@code --no-sharding} or
     * {@code sharding.enabled=false}).
     *
     * @param settingsFile the settings file (only its {@link #SETTINGS} keys are read)
     * @throws Problem naming the flag or variable at fault, or the key of a combination that is invalid
     * @throws dev.flotilla.core.settings.InvalidSettingsException naming file and key of an unusable value
     */
    public Optional<ShardingConfig> resolve(SettingsFile settingsFile, Flags flags) {
        String origin = settingsFile.origin();
        SettingsFile.Section file = settingsFile.section(SETTINGS);
        if (flags.noSharding() || !file.flag(KEY_ENABLED).orElse(true)) {
            return Optional.empty();
        }
        Sourced<String> identity = identity(flags);
        // The file's value is read only where no flag was given: a flag replaces it, even a malformed one.
        Sourced<String> namespace = pick(flags.leaseNamespace(), "--lease-namespace",
                () -> fromFile(file.text(KEY_LEASE_NAMESPACE), KEY_LEASE_NAMESPACE),
                env(ENV_POD_NAMESPACE).orElse(new Sourced<>(DEFAULT_LEASE_NAMESPACE, null, false)));
        Sourced<String> group = pick(flags.group(), "--sharding-group", () -> fromFile(file.text(KEY_GROUP), KEY_GROUP),
                new Sourced<>(ShardingConfig.DEFAULT_GROUP, null, false));
        Sourced<Integer> shards = pick(flags.shards(), "--shards", () -> fromFile(file.wholeNumber(KEY_SHARDS), KEY_SHARDS),
                new Sourced<>(ShardSpace.DEFAULT_SHARDS, null, false));
        Sourced<Duration> lease = pick(flags.leaseDuration(), "--lease-duration",
                () -> fromFile(file.duration(KEY_LEASE_DURATION), KEY_LEASE_DURATION),
                new Sourced<>(ShardingConfig.DEFAULT_LEASE_DURATION, null, false));
        Sourced<Duration> renew = pick(flags.renewDeadline(), "--renew-deadline",
                () -> fromFile(file.duration(KEY_RENEW_DEADLINE), KEY_RENEW_DEADLINE),
                new Sourced<>(ShardingConfig.DEFAULT_RENEW_DEADLINE, null, false));
        Sourced<Duration> retry = pick(flags.retryPeriod(), "--retry-period",
                () -> fromFile(file.duration(KEY_RETRY_PERIOD), KEY_RETRY_PERIOD),
                new Sourced<>(ShardingConfig.DEFAULT_RETRY_PERIOD, null, false));

        // One field at a time on top of valid defaults, so that a failure names the setting at fault.
        ShardingConfig config = check(List.of(identity), origin,
                () -> ShardingConfig.defaults(identity.value(), DEFAULT_LEASE_NAMESPACE));
        config = check(List.of(namespace), origin, () -> ShardingConfig.defaults(identity.value(), namespace.value()));
        ShardingConfig base = config;
        config = check(List.of(group), origin, () -> base.withGroup(group.value()));
        ShardingConfig grouped = config;
        config = check(List.of(shards), origin, () -> grouped.withShards(shards.value()));
        ShardingConfig sized = config;
        return Optional.of(check(List.of(lease, renew, retry), origin,
                () -> sized.withTimings(lease.value(), renew.value(), retry.value())));
    }

    /**
     * The Pod this replica runs in, for restart proof ({@link Sharding#withRestartProof}): present when
     * the downward API gives {@code $POD_NAME} and {@code $POD_NAMESPACE} and the replica's identity is
     * that pod name (a restarted container keeps it). The container is {@code $FLOTILLA_CONTAINER_NAME},
     * or the Pod's only one.
     */
    public Optional<PodReference> pod(ShardingConfig config) {
        String name = env.getOrDefault(ENV_POD_NAME, "");
        String namespace = env.getOrDefault(ENV_POD_NAMESPACE, "");
        if (name.isEmpty() || namespace.isEmpty() || !name.equals(config.identity())) {
            return Optional.empty();
        }
        try {
            return Optional.of(new PodReference(namespace, name, env.getOrDefault(ENV_CONTAINER_NAME, "")));
        } catch (IllegalArgumentException e) {
            throw new Problem(null, "$" + ENV_CONTAINER_NAME + ": " + e.getMessage());
        }
    }

    private Sourced<String> identity(Flags flags) {
        if (flags.identity() != null) {
            return new Sourced<>(flags.identity(), "--identity", true);
        }
        Optional<Sourced<String>> pod = env(ENV_POD_NAME);
        if (pod.isPresent()) {
            return pod.get();
        }
        String host = hostname.get();
        // A hostname may be upper-case or qualified ("Build-07.example.com"); its first label, lower-cased, is a usable name.
        String label = host == null ? "" : host.strip().toLowerCase(Locale.ROOT);
        int dot = label.indexOf('.');
        if (dot > 0) {
            label = label.substring(0, dot);
        }
        return new Sourced<>(label, "the hostname '" + host + "' (pass --identity or set $" + ENV_POD_NAME + ")", false);
    }

    /** Where the group's Leases live unless told: the pod's namespace ($POD_NAMESPACE), else {@value #DEFAULT_LEASE_NAMESPACE}. */
    public static String defaultLeaseNamespace(Map<String, String> env) {
        String ns = env.get(ENV_POD_NAMESPACE);
        return ns == null || ns.isBlank() ? DEFAULT_LEASE_NAMESPACE : ns.strip();
    }

    private Optional<Sourced<String>> env(String name) {
        String v = env.get(name);
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(new Sourced<>(v.strip(), "$" + name, false));
    }

    private static <T> Sourced<T> pick(T flag, String flagName, Supplier<Optional<Sourced<T>>> file, Sourced<T> fallback) {
        if (flag != null) {
            return new Sourced<>(flag, flagName, true);
        }
        return file.get().orElse(fallback);
    }

    private static <T> Optional<Sourced<T>> fromFile(Optional<T> value, String key) {
        return value.map(v -> new Sourced<>(v, key, false));
    }

    private static ShardingConfig check(List<? extends Sourced<?>> involved, String origin, Supplier<ShardingConfig> build) {
        try {
            return build.get();
        } catch (IllegalArgumentException e) {
            List<String> flags = involved.stream().filter(Sourced::isFlag).map(Sourced::source).toList();
            if (!flags.isEmpty()) {
                String options = flags.stream().map(f -> "'" + f + "'").collect(Collectors.joining(", "));
                throw new Problem(flags.getFirst(), (flags.size() > 1 ? "Invalid values for options " : "Invalid value for option ") + options
                        + ": " + e.getMessage());
            }
            List<String> sources = new ArrayList<>();
            for (Sourced<?> s : involved) {
                if (s.source() != null) {
                    sources.add(SETTINGS.claims(s.source()) ? origin + ": " + s.source() : "from " + s.source());
                }
            }
            throw new Problem(null, (sources.isEmpty() ? "sharding defaults" : String.join(", ", sources)) + ": "
                    + e.getMessage());
        }
    }

    /** The machine's hostname, or "" when it cannot be found. */
    public static String hostname() {
        String fromEnv = System.getenv("HOSTNAME");
        if (fromEnv != null && !fromEnv.isBlank()) {
            return fromEnv.strip();
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "";
        }
    }
}
