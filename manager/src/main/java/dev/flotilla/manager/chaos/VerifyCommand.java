package dev.flotilla.manager.chaos;

import dev.flotilla.cli.CliException;
import dev.flotilla.cli.CommandContext;
import dev.flotilla.cli.DurationConverter;
import dev.flotilla.cli.ExitCode;
import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.ShardSpace;
import dev.flotilla.sharding.ShardingConfig;
import dev.flotilla.sharding.ShardingSettings;
import dev.flotilla.sharding.auditlog.AuditLog;
import dev.flotilla.sharding.auditlog.AuditedRequest;
import dev.flotilla.sharding.auditlog.ChaosVerdict;
import dev.flotilla.sharding.auditlog.RangeOwnershipCheck;
import dev.flotilla.sharding.auditlog.RequestBudgetCheck;
import dev.flotilla.sharding.auditlog.SingleWriterCheck;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code flotilla chaos verify}: judges a chaos run from the API server's audit log alone (single
 * writer, request budgets and no retry storm after recovery, range ownership; see
 * {@link ChaosVerdict}). Exit 0 when every invariant holds, 1 when one is violated (each violation
 * on stdout, one line naming the invariants on stderr), 2 for a bad command line, 3 when the log
 * cannot be read or judged (one line naming file and line). Defaults are {@code flotilla run}'s:
 * the sharding timings of {@link ShardingConfig}, the request rate of {@link GuardConfig}.
 */
@Command(name = "verify", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Judge a chaos run from the API server's audit log: single writer, request budgets (and no retry "
                + "storm in the 30 s after --fault-end), every range owned by exactly one live replica within lease "
                + "duration + one retry period of --fault-end.",
                "Exit 0 if every invariant holds, 1 if one is violated, 2 usage, 3 unreadable or malformed audit log."})
public final class VerifyCommand implements Callable<Integer> {

    @ParentCommand
    CommandContext context;

    @Spec
    CommandSpec spec;

    @Option(names = "--audit-log", paramLabel = "FILE", required = true,
            description = "The API server's audit log (--audit-log-path; JSON lines, Leases at level RequestResponse).")
    Path auditLog;

    @Option(names = "--since", paramLabel = "TIME", converter = InstantConverter.class,
            description = "Judge from this RFC 3339 time on. Default: the log's first request.")
    Instant since;

    @Option(names = "--until", paramLabel = "TIME", converter = InstantConverter.class,
            description = "Judge up to this time. Default: the log's last request.")
    Instant until;

    @Option(names = "--fault-end", paramLabel = "TIME", converter = InstantConverter.class,
            description = "When the fault ended: ranges must be owned within lease duration + one retry period of it, and "
                    + "the 30 s after it are judged for a retry storm. Default: --since (no retry-storm check).")
    Instant faultEnd;

    @Option(names = "--lease-namespace", paramLabel = "NAMESPACE",
            description = "Namespace of the group's Leases. Default: $POD_NAMESPACE, else default.")
    String leaseNamespace;

    @Option(names = {"--group", "--sharding-group"}, paramLabel = "NAME", defaultValue = ShardingConfig.DEFAULT_GROUP,
            description = "The sharding group (prefix of its Lease names). Default: ${DEFAULT-VALUE}.")
    String group;

    @Option(names = "--shards", paramLabel = "N", defaultValue = "" + ShardSpace.DEFAULT_SHARDS,
            description = "The group's shard count, 1-" + ShardSpace.MAX_SHARDS + ". Default: ${DEFAULT-VALUE}.")
    int shards;

    // Durations are not compile-time constants: the defaults are ShardingConfig's, applied in call();
    // ChaosVerifyTest checks the help text against them.
    @Option(names = "--lease-duration", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "The group's lease duration. Default: 15s, as for run.")
    Duration leaseDuration;

    @Option(names = "--retry-period", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "The group's retry period. Default: 2s, as for run.")
    Duration retryPeriod;

    @Option(names = "--qps", paramLabel = "QPS", defaultValue = "" + GuardConfig.DEFAULT_QPS,
            description = "Each replica's requests per second (as run's --qps). Default: ${DEFAULT-VALUE}.")
    double qps;

    @Option(names = "--burst", paramLabel = "N", defaultValue = "" + GuardConfig.DEFAULT_BURST,
            description = "Each replica's request burst (as run's --burst). Default: ${DEFAULT-VALUE}.")
    int burst;

    @Option(names = "--lease-budget", paramLabel = "N",
            description = "Lease requests one replica may send in 10 s. Default: what run's Lease budget lets through, "
                    + "lease-qps x 1.1 x 10 + lease-burst.")
    Integer leaseBudget;

    /** The guard's own Lease budget in 10 s: the Leases' own limiter, as requests are judged by theirs. */
    static final int DEFAULT_LEASE_BUDGET = RequestBudgetCheck.bucketBudget(GuardConfig.DEFAULT_LEASE_QPS,
            GuardConfig.DEFAULT_LEASE_BURST);

    @Option(names = "--identity-prefix", paramLabel = "PREFIX",
            description = "Judge the request budget of users starting with this (repeatable). Default: "
                    + "system:serviceaccount:<lease namespace>: (the replicas' ServiceAccounts).")
    List<String> identityPrefixes;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the verdict as JSON.")
    Path json;

    @Option(names = "--markdown", paramLabel = "FILE", description = "Also write the verdict as Markdown tables.")
    Path markdown;

    @Override
    public Integer call() {
        context.logging();
        validate();
        String namespace = leaseNamespace != null ? leaseNamespace : ShardingSettings.defaultLeaseNamespace(System.getenv());
        Duration lease = leaseDuration != null ? leaseDuration : ShardingConfig.DEFAULT_LEASE_DURATION;
        Duration retry = retryPeriod != null ? retryPeriod : ShardingConfig.DEFAULT_RETRY_PERIOD;
        List<String> prefixes = identityPrefixes != null ? identityPrefixes : List.of("system:serviceaccount:" + namespace + ":");
        int leases = leaseBudget != null ? leaseBudget : DEFAULT_LEASE_BUDGET;

        List<AuditedRequest> log = read();
        Instant from = since != null ? since
                : log.stream().map(AuditedRequest::received).min(Comparator.naturalOrder()).orElseThrow();
        Instant to = until != null ? until
                : log.stream().map(AuditedRequest::completed).max(Comparator.naturalOrder()).orElseThrow();
        if (to.isBefore(from)) {
            throw new ParameterException(spec.commandLine(), "--until " + to + " is before --since " + from);
        }
        Instant end = faultEnd != null ? faultEnd : from;
        ShardSpace space = new ShardSpace(shards);
        LeaseNaming naming = new LeaseNaming(group);
        ChaosVerdict verdict;
        try {
            verdict = new ChaosVerdict(new SingleWriterCheck(space, naming, namespace).violations(log),
                    new RequestBudgetCheck(qps, burst, leases, user -> prefixes.stream().anyMatch(user::startsWith))
                            .check(log, from, to, Optional.ofNullable(faultEnd)),
                    new RangeOwnershipCheck(space, naming, namespace, lease, retry).check(log, from, to, end));
        } catch (IllegalArgumentException e) {
            // The checks refuse a log they cannot judge (Lease writes logged without their answers).
            throw new CliException(ExitCode.CONFIG, auditLog + ": " + e.getMessage(), e);
        }
        write(json, verdict.toJson() + "\n");
        write(markdown, verdict.toMarkdown());

        PrintStream out = context.out();
        out.println("audit log " + auditLog + ": " + log.size() + " requests; judged " + from + " to " + to
                + (faultEnd != null ? "; fault ended " + faultEnd : "") + "; group '" + group + "' in '" + namespace + "', "
                + shards + " shards");
        verdict.summary().forEach(out::println);
        verdict.failures().forEach(out::println);
        out.flush();
        if (!verdict.holds()) {
            List<String> violated = verdict.summary().stream().filter(l -> l.contains(": VIOLATED"))
                    .map(l -> l.substring(0, l.indexOf(": VIOLATED"))).toList();
            throw new CliException(ExitCode.FAILURE, verdict.failures().size() + " violation"
                    + (verdict.failures().size() == 1 ? "" : "s") + " of " + String.join(", ", violated)
                    + " (listed on stdout)");
        }
        return ExitCode.OK.code();
    }

    private void validate() {
        CommandLine cl = spec.commandLine();
        if (shards < 1 || shards > ShardSpace.MAX_SHARDS) {
            throw new ParameterException(cl, "Invalid value for option '--shards': shard count must be between 1 and "
                    + ShardSpace.MAX_SHARDS + ", got " + shards);
        }
        if (!(qps > 0) || Double.isInfinite(qps)) {
            throw new ParameterException(cl, "Invalid value for option '--qps': must be positive, got " + qps);
        }
        if (burst < 0 || (leaseBudget != null && leaseBudget < 0)) {
            throw new ParameterException(cl, "--burst and --lease-budget must not be negative");
        }
        for (Duration d : new Duration[] {leaseDuration, retryPeriod}) {
            if (d != null && (d.isNegative() || d.isZero())) {
                throw new ParameterException(cl, "--lease-duration and --retry-period must be positive, got " + d);
            }
        }
    }

    private List<AuditedRequest> read() {
        List<AuditedRequest> log;
        try {
            log = AuditLog.read(auditLog);
        } catch (AuditLog.MalformedAuditLogException e) {
            throw new CliException(ExitCode.CONFIG, e.getMessage(), e); // names file:line and what is wrong
        } catch (UncheckedIOException e) {
            throw new CliException(ExitCode.CONFIG, "cannot read the audit log " + auditLog + ": " + e.getCause(), e);
        }
        if (log.isEmpty()) {
            throw new CliException(ExitCode.CONFIG, auditLog + ": no completed request in the audit log");
        }
        return log;
    }

    private static void write(Path file, String text) {
        if (file == null) {
            return;
        }
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CliException(ExitCode.CONFIG, "cannot write " + file + ": " + e, e);
        }
    }

    /** An RFC 3339 time: {@code 2026-12-03T10:00:00Z} or with an offset, {@code 2026-12-03T11:00:00+01:00}. */
    static final class InstantConverter implements CommandLine.ITypeConverter<Instant> {
        @Override
        public Instant convert(String value) {
            try {
                return OffsetDateTime.parse(value).toInstant();
            } catch (DateTimeParseException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not an RFC 3339 time "
                        + "(e.g. 2026-12-03T10:00:00Z)");
            }
        }
    }
}
