package dev.flotilla.demo;

import java.io.Console;
import java.io.PrintStream;
import java.lang.reflect.Method;

/**
 * The demo's single live progress line. On a terminal it is rewritten in place with {@code \r};
 * otherwise (a pipe, a CI log) a plain line is printed at most every {@link #PLAIN_INTERVAL_NANOS}.
 */
final class ProgressLine {

    static final long PLAIN_INTERVAL_NANOS = 2_000_000_000L;

    private final PrintStream out;
    private final boolean terminal;
    private final boolean enabled;
    private long lastPrinted = Long.MIN_VALUE;
    private int lastWidth;
    private boolean open;

    ProgressLine(PrintStream out, boolean terminal, boolean enabled) {
        this.out = out;
        this.terminal = terminal;
        this.enabled = enabled;
    }

    /** Whether {@code out} is the process's stdout attached to a terminal. */
    static boolean isTerminal(PrintStream out) {
        if (out != System.out) {
            return false;
        }
        Console console = System.console();
        if (console == null) {
            return false;
        }
        // Since JDK 22 System.console() is non-null even when redirected; Console.isTerminal() tells.
        try {
            Method isTerminal = Console.class.getMethod("isTerminal");
            return (boolean) isTerminal.invoke(console);
        } catch (ReflectiveOperationException e) {
            return true; // JDK 21: a console exists only for a terminal
        }
    }

    /** Shows {@code text}; may print nothing (rate limit when not a terminal). */
    synchronized void update(String text, boolean force) {
        if (!enabled) {
            return;
        }
        long now = System.nanoTime();
        if (terminal) {
            String padded = text.length() < lastWidth ? text + " ".repeat(lastWidth - text.length()) : text;
            out.print("\r" + padded);
            out.flush();
            lastWidth = text.length();
            open = true;
        } else if (force || lastPrinted == Long.MIN_VALUE || now - lastPrinted >= PLAIN_INTERVAL_NANOS) {
            out.println(text);
            out.flush();
            lastPrinted = now;
        }
    }

    /** Prints {@code text} on a line of its own (after ending an open progress line). */
    synchronized void event(String text) {
        if (!enabled) {
            return;
        }
        finish();
        out.println(text);
        out.flush();
    }

    /** Ends the line on a terminal so that what follows starts on a fresh line. */
    synchronized void finish() {
        if (enabled && terminal && open) {
            out.println();
            out.flush();
            open = false;
            lastWidth = 0;
        }
    }
}
