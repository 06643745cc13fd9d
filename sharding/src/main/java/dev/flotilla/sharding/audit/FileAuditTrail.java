package dev.flotilla.sharding.audit;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * An {@link AuditTrail} appended to a file, one line per entry and flushed per line, so that the
 * trail of a replica killed with SIGKILL survives up to its last completed entry. Times are
 * {@link System#nanoTime()} values, comparable across processes on one Linux machine.
 *
 * <pre>{@code
 * AuditTrail trail = new FileAuditTrail(Path.of("/tmp/replica-0.audit"));
 * List<ReconcileRecord> all = FileAuditTrail.readReconciles(List.of(Path.of("/tmp/replica-0.audit"),
 *         Path.of("/tmp/replica-1.audit"))); // every replica's trail, read after the run
 * }</pre>
 */
public final class FileAuditTrail implements AuditTrail, AutoCloseable {

    private final BufferedWriter out;

    public FileAuditTrail(Path file) {
        try {
            out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open audit trail " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void reconciled(ReconcileRecord r) {
        write("R " + r.replica() + " " + r.shard() + " " + r.namespace() + " " + r.name() + " " + r.startNanos() + " "
                + r.endNanos());
    }

    @Override
    public synchronized void transition(LeaseTransition t) {
        write("T " + t.replica() + " " + t.shard() + " " + t.kind() + " " + t.atNanos());
    }

    private void write(String line) {
        try {
            out.write(line);
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            // An audit trail must never fail a reconcile; a lost line shows up as a gap, not a crash.
        }
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }

    /** Reads the reconciles of several trails; a torn last line (the process was killed mid-write) is skipped. */
    public static List<ReconcileRecord> readReconciles(List<Path> files) throws IOException {
        List<ReconcileRecord> out = new ArrayList<>();
        for (Path f : files) {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                String[] p = line.split(" ");
                if (p.length == 7 && p[0].equals("R")) {
                    try {
                        out.add(new ReconcileRecord(p[1], Integer.parseInt(p[2]), p[3], p[4], Long.parseLong(p[5]),
                                Long.parseLong(p[6])));
                    } catch (IllegalArgumentException torn) {
                        // skip
                    }
                }
            }
        }
        return out;
    }

    public static List<LeaseTransition> readTransitions(List<Path> files) throws IOException {
        List<LeaseTransition> out = new ArrayList<>();
        for (Path f : files) {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                String[] p = line.split(" ");
                if (p.length == 5 && p[0].equals("T")) {
                    try {
                        out.add(new LeaseTransition(p[1], Integer.parseInt(p[2]), LeaseTransition.Kind.valueOf(p[3]),
                                Long.parseLong(p[4])));
                    } catch (IllegalArgumentException torn) {
                        // skip
                    }
                }
            }
        }
        return out;
    }
}
