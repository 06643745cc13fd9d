package dev.flotilla.testing.fault;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The client's bytes, read ahead by a thread of their own into a bounded buffer. The handler
 * consumes them as an ordinary stream; meanwhile the reading thread notices at once when the client
 * closes its connection (as Go's HTTP server does), so the proxy can abort the upstream request
 * instead of leaving an orphaned watch open on the API server.
 */
final class ClientInput extends InputStream {

    private final byte[] ring;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private final Condition writable = lock.newCondition();
    private int head;
    private int count;
    private boolean ended;
    private IOException failure;
    private boolean closed;

    ClientInput(int capacity) {
        this.ring = new byte[capacity];
    }

    /** Runs on the reading thread until the client's stream ends; then runs {@code onEnd}. */
    void fill(InputStream socketIn, Runnable onEnd) {
        byte[] chunk = new byte[16 * 1024];
        try {
            int n;
            while ((n = socketIn.read(chunk)) >= 0) {
                if (!put(chunk, n)) {
                    break;
                }
            }
        } catch (IOException e) {
            lock.lock();
            try {
                failure = e;
            } finally {
                lock.unlock();
            }
        } finally {
            lock.lock();
            try {
                ended = true;
                readable.signalAll();
            } finally {
                lock.unlock();
            }
            onEnd.run();
        }
    }

    private boolean put(byte[] data, int n) {
        int off = 0;
        lock.lock();
        try {
            while (off < n) {
                while (count == ring.length && !closed) {
                    writable.awaitUninterruptibly();
                }
                if (closed) {
                    return false;
                }
                int tail = (head + count) % ring.length;
                int c = Math.min(n - off, Math.min(ring.length - count, ring.length - tail));
                System.arraycopy(data, off, ring, tail, c);
                count += c;
                off += c;
                readable.signalAll();
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Whether the client's stream has ended (closed or failed); buffered bytes may remain. */
    boolean ended() {
        lock.lock();
        try {
            return ended;
        } finally {
            lock.unlock();
        }
    }

    /** Waits up to {@code millis} for the client to close its side; true if it did. */
    boolean awaitEnd(long millis) {
        long deadline = System.nanoTime() + millis * 1_000_000;
        lock.lock();
        try {
            while (!ended && !closed) {
                // Unread bytes would keep the writer blocked; drop them, nobody will read them now.
                if (count > 0) {
                    head = (head + count) % ring.length;
                    count = 0;
                    writable.signalAll();
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                readable.awaitNanos(left);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ended;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        lock.lock();
        try {
            while (count == 0 && !ended && !closed) {
                readable.await();
            }
            if (count == 0) {
                if (closed) {
                    throw Side.CLIENT.failure("connection closed by the proxy", null);
                }
                if (failure != null) {
                    throw Side.CLIENT.failure(String.valueOf(failure.getMessage()), failure);
                }
                return -1;
            }
            int c = Math.min(len, Math.min(count, ring.length - head));
            System.arraycopy(ring, head, b, off, c);
            head = (head + c) % ring.length;
            count -= c;
            writable.signalAll();
            return c;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading from the client");
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int available() {
        lock.lock();
        try {
            return count;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            readable.signalAll();
            writable.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
