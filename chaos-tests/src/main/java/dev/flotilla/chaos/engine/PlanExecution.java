package dev.flotilla.chaos.engine;

import dev.flotilla.chaos.experiment.ChaosPlan;
import dev.flotilla.chaos.experiment.Experiment;
import dev.flotilla.chaos.experiment.Schedule;
import dev.flotilla.chaos.experiment.Workflow;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out one {@link ChaosPlan} in real time: a single fault for its duration, a Schedule's
 * firings at their interval, a Workflow's nodes in series and in parallel within their deadlines.
 * Each fault selects its pods when it starts (a Schedule's second coordinator kill finds the new
 * coordinator), and each becomes a {@link Timeline.FaultWindow}: what the report shades and what
 * the judgement splits the run by. When it returns, or throws, every fault it applied has ended
 * and every thread it started has finished.
 */
final class PlanExecution {

    private static final Logger log = LoggerFactory.getLogger(PlanExecution.class);

    /** Applies one fault to its pods; what it returns ends it. */
    interface Applier {
        FaultInjector.Applied apply(Experiment e, List<ReplicaPod> targets);
    }

    private final Applier applier;
    private final Function<Experiment, List<ReplicaPod>> select;
    private final List<Timeline.FaultWindow> windows = Collections.synchronizedList(new ArrayList<>());
    private final List<String> notes = Collections.synchronizedList(new ArrayList<>());

    /** @param select the pods a fault acts on, picked when it starts; empty when its selector matches none */
    PlanExecution(Applier applier, Function<Experiment, List<ReplicaPod>> select) {
        this.applier = applier;
        this.select = select;
    }

    /** Runs the plan to its end; a single experiment acts on {@code targets}, already picked. */
    void run(ChaosPlan plan, List<ReplicaPod> targets) throws InterruptedException {
        switch (plan) {
            case Experiment e -> fault(e.name(), e, targets, e.faultDuration(), Long.MAX_VALUE);
            case Schedule s -> schedule(s, Long.MAX_VALUE);
            case Workflow w -> node(w.name() + "/", w.entry(), Long.MAX_VALUE);
        }
    }

    /** Every fault applied, by start. */
    List<Timeline.FaultWindow> windows() {
        synchronized (windows) {
            return windows.stream().sorted(Comparator.comparing(Timeline.FaultWindow::from)).toList();
        }
    }

    /** What happened besides the faults: firings skipped, selectors that matched nothing, deadlines that cut a step. */
    List<String> notes() {
        synchronized (notes) {
            return List.copyOf(notes);
        }
    }

    private void fault(String step, Experiment e, List<ReplicaPod> targets, Duration lasts, long stopBy)
            throws InterruptedException {
        long start = System.nanoTime();
        long until = Math.min(stopBy, saturatedAdd(start, lasts));
        // A ClusterChaos has no selector and no pods: it acts on the cluster itself.
        if (e.selector().isPresent() && targets.isEmpty()) {
            notes.add(step + ": " + e.describe() + " selected no pod; nothing applied");
            log.atWarn().addKeyValue("step", step).log("fault selected no pod; nothing applied");
            sleepUntil(until);
            return;
        }
        Instant from = Instant.now();
        List<String> names = targets.stream().map(ReplicaPod::name).toList();
        log.atInfo().addKeyValue("step", step).addKeyValue("action", e.describe()).addKeyValue("targets", names)
                .log("fault applied");
        FaultInjector.Applied applied = applier.apply(e, targets);
        try {
            if (e.action().lasting()) {
                sleepUntil(until);
            }
        } finally {
            try {
                applied.end();
            } finally {
                windows.add(new Timeline.FaultWindow(step, e.describe(), from, Instant.now(), names));
                log.atInfo().addKeyValue("step", step).log("fault ended");
            }
        }
        // A one-shot chaos node of a workflow still lasts its deadline.
        sleepUntil(until);
    }

    private void schedule(Schedule s, long stopBy) throws InterruptedException {
        long start = System.nanoTime();
        List<Thread> firings = new ArrayList<>();
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        try {
            Thread previous = null;
            for (int k = 1; k <= s.firings(); k++) {
                long at = saturatedAdd(start, s.every().multipliedBy(k));
                if (at >= stopBy) {
                    notes.add(s.name() + ": deadline passed before firing #" + k);
                    break;
                }
                sleepUntil(at);
                String step = s.name() + " #" + k;
                if (s.concurrencyPolicy() == Schedule.ConcurrencyPolicy.FORBID && previous != null && previous.isAlive()) {
                    notes.add(step + ": skipped, firing #" + (k - 1) + " still in place (concurrencyPolicy Forbid)");
                    continue;
                }
                previous = branch("chaos-" + step, failures, () -> {
                    switch (s.item()) {
                        case Experiment e -> fault(step, e, select.apply(e), e.faultDuration(), stopBy);
                        case Workflow w -> node(step + "/", w.entry(), stopBy);
                        case Schedule nested -> throw new IllegalStateException("a Schedule of a Schedule");
                    }
                });
                firings.add(previous);
            }
        } catch (InterruptedException e) {
            // Stopped between firings: the firings under way end their faults before this returns.
            firings.forEach(Thread::interrupt);
            joinAll(firings, failures);
            throw e;
        }
        joinAll(firings, failures);
    }

    private void node(String path, Workflow.Node n, long stopBy) throws InterruptedException {
        String step = path + n.name();
        switch (n) {
            case Workflow.Fault f -> fault(step, f.experiment(), select.apply(f.experiment()), f.deadline(), stopBy);
            case Workflow.Suspend s -> sleepUntil(Math.min(stopBy, saturatedAdd(System.nanoTime(), s.deadline())));
            case Workflow.Serial s -> {
                long mine = own(s.deadline().orElse(null), stopBy);
                for (Workflow.Node child : s.children()) {
                    if (System.nanoTime() >= mine) {
                        notes.add(step + ": deadline passed before " + child.name() + " started");
                        break;
                    }
                    node(step + "/", child, mine);
                }
            }
            case Workflow.Parallel p -> {
                long mine = own(p.deadline().orElse(null), stopBy);
                List<Thread> children = new ArrayList<>();
                List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
                for (Workflow.Node child : p.children()) {
                    children.add(branch("chaos-" + step + "/" + child.name(), failures, () -> node(step + "/", child, mine)));
                }
                joinAll(children, failures);
            }
        }
    }

    private interface Step {
        void run() throws InterruptedException;
    }

    /** A branch on its own virtual thread; what it throws is kept for {@link #joinAll}. */
    private static Thread branch(String name, List<Throwable> failures, Step step) {
        return Thread.ofVirtual().name(name).start(() -> {
            try {
                step.run();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException | Error e) {
                failures.add(e);
            }
        });
    }

    private static long own(Duration deadline, long stopBy) {
        return deadline == null ? stopBy : Math.min(stopBy, saturatedAdd(System.nanoTime(), deadline));
    }

    /**
     * Waits for every branch. Interrupted, it interrupts them (each ends its fault on the way out) and still waits
     * for all of them before passing the interrupt on: nothing may outlive the run that started it.
     */
    private static void joinAll(List<Thread> threads, List<Throwable> failures) throws InterruptedException {
        boolean interrupted = false;
        for (Thread t : threads) {
            while (true) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    if (!interrupted) {
                        interrupted = true;
                        threads.forEach(Thread::interrupt);
                    }
                }
            }
        }
        if (interrupted) {
            throw new InterruptedException("interrupted while the fault phase ran");
        }
        synchronized (failures) {
            if (!failures.isEmpty()) {
                Throwable first = failures.getFirst();
                failures.stream().skip(1).forEach(first::addSuppressed);
                if (first instanceof RuntimeException r) {
                    throw r;
                }
                throw (Error) first;
            }
        }
    }

    private static long saturatedAdd(long nanos, Duration d) {
        long add = d.toNanos();
        return nanos > Long.MAX_VALUE - add ? Long.MAX_VALUE : nanos + add;
    }

    private static void sleepUntil(long nanos) throws InterruptedException {
        long left;
        while ((left = nanos - System.nanoTime()) > 0) {
            Thread.sleep(Math.min(left / 1_000_000 + 1, 1_000));
        }
    }
}
