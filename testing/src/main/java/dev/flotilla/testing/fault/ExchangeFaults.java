package dev.flotilla.testing.fault;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * The faults of one exchange (request and its response, a watch stream for as long as it is open)
 * that act on its bytes while they flow: {@link Fault.Bandwidth} and, on watch streams,
 * {@link Fault.Loss}. Rules are looked up on each use, so a rule added while a watch is open
 * reaches it; each rule is decided once per exchange ({@link ActiveRule#tryApply()}: its times,
 * probability and hit count), and one that is removed or expires stops acting at once.
 */
final class ExchangeFaults {

    private final FaultProxy proxy;
    final String identity;
    final String method;
    final String path;
    final boolean watch;
    final RequestLog.Entry entry;
    private final BooleanSupplier alive;
    private final Map<ActiveRule, Boolean> decided = new ConcurrentHashMap<>();

    ExchangeFaults(FaultProxy proxy, String identity, String method, String path, boolean watch,
            RequestLog.Entry entry, BooleanSupplier alive) {
        this.proxy = proxy;
        this.identity = identity;
        this.method = method;
        this.path = path;
        this.watch = watch;
        this.entry = entry;
        this.alive = alive;
    }

    /** Whether the exchange's connection is still open (waits end early when it is not). */
    boolean alive() {
        return alive.getAsBoolean();
    }

    /** Whether {@code rule} (which matches this exchange) applies to it: decided on the first call. */
    boolean applies(ActiveRule rule) {
        return decided.computeIfAbsent(rule, r -> {
            boolean applied = r.tryApply();
            if (applied && r.rule().fault() instanceof Fault.Bandwidth b) {
                entry.fault(b.describe());
            }
            return applied;
        });
    }

    /** The live rules with a fault of this kind that match this exchange and apply to it, in order. */
    List<ActiveRule> applying(Class<? extends Fault> kind) {
        List<ActiveRule> out = null;
        for (ActiveRule rule : proxy.ruleList()) {
            if (kind.isInstance(rule.rule().fault()) && rule.live()
                    && rule.rule().matches(identity, method, path, watch) && applies(rule)) {
                if (out == null) {
                    out = new ArrayList<>(2);
                }
                out.add(rule);
            }
        }
        return out == null ? List.of() : out;
    }
}
