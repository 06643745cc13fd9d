package dev.flotilla.testing.fault;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;

/**
 * Where bytes go onto the wire (beneath the buffering), in one direction of one connection: each
 * write takes tokens from the buckets of the {@link Fault.Bandwidth} rules that apply to the
 * current exchange, in slices no larger than any bucket. Without an exchange, or with no rule,
 * bytes pass straight through.
 */
final class Throttle extends OutputStream {

    static final int TO_SERVER = 0;
    static final int TO_CLIENT = 1;
    private static final int MAX_SLICE = 16 * 1024;

    private final OutputStream out;
    private final int direction;
    private volatile ExchangeFaults exchange;

    Throttle(OutputStream out, int direction) {
        this.out = out;
        this.direction = direction;
    }

    /** The exchange whose bytes are written from now on; null for none. */
    void exchange(ExchangeFaults current) {
        this.exchange = current;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        ExchangeFaults current = exchange;
        while (len > 0) {
            var rules = current == null ? java.util.List.<ActiveRule>of() : current.applying(Fault.Bandwidth.class);
            if (rules.isEmpty()) {
                out.write(b, off, len);
                return;
            }
            long slice = Math.min(len, MAX_SLICE);
            for (ActiveRule rule : rules) {
                slice = Math.min(slice, ((Fault.Bandwidth) rule.rule().fault()).bufferBytes());
            }
            for (ActiveRule rule : rules) {
                try {
                    rule.bucket(current.identity, direction).take(slice, () -> rule.live() && current.alive());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while throttled");
                }
            }
            out.write(b, off, (int) slice);
            off += (int) slice;
            len -= (int) slice;
        }
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
