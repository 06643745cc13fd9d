package dev.flotilla.chaos.engine;

import dev.flotilla.chaos.experiment.Action;
import dev.flotilla.testing.fault.Fault;
import dev.flotilla.testing.fault.FaultRule;

/** The fault proxy rules that stand for NetworkChaos and HTTPChaos actions (see the module's README). */
final class ProxyFaults {

    private ProxyFaults() {
    }

    static FaultRule delay(Action.NetDelay d, long seed) {
        return FaultRule.of(Fault.delay(d.latency(), d.jitter(), d.correlationPercent())).withSeed(seed);
    }

    static FaultRule loss(Action.NetLoss l, long seed) {
        return FaultRule.of(new Fault.Loss(l.percent(), l.correlationPercent())).withSeed(seed);
    }

    /** Correlation has no meaning for the proxy's duplicate model (a share of GETs sent twice). */
    static FaultRule duplicate(Action.NetDuplicate d, long seed) {
        return FaultRule.of(Fault.duplicate(d.percent())).withSeed(seed);
    }

    /** tc's {@code limit} (queue bytes before drops) has no counterpart: the proxy holds bytes back, it never drops them. */
    static FaultRule bandwidth(Action.NetBandwidth b) {
        return FaultRule.of(Fault.bandwidth(b.bytesPerSecond(), b.bufferBytes()));
    }

    static FaultRule http(Action.HttpFault h) {
        Fault fault;
        if (h.abort()) {
            fault = new Fault.Reset();
        } else if (h.delay().isPresent()) {
            fault = new Fault.Delay(h.delay().get());
        } else if (h.target().equals("Response")) {
            // The request reaches the server; its answer is replaced.
            fault = Fault.replaceCode(h.replaceCode().getAsInt());
        } else {
            fault = new Fault.Respond(h.replaceCode().getAsInt(), null, "replaced by HTTPChaos");
        }
        FaultRule rule = FaultRule.of(fault);
        if (h.path().isPresent()) {
            rule = rule.forPath(FaultInjector.pathPattern(h.path().get()).pattern());
        }
        if (h.method().isPresent()) {
            rule = rule.forMethods(h.method().get());
        }
        return rule;
    }
}
