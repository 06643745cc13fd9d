#!/usr/bin/env python3
"""Samples how much CPU processes other than the benchmark's use, while the benchmark runs.

Every INTERVAL seconds it reads the machine's busy time (/proc/stat) and the CPU time of every process whose
command line contains MARKER (the benchmark's JVMs: JMH's forks carry the benchmarks jar on their class path),
and counts the difference as other processes' CPU. An interval in which a marked process exited is left out:
its last CPU time cannot be read any more, so the difference would wrongly count it as someone else's.
On SIGTERM or SIGINT it prints one line, "mean M, max X cores over S samples", and exits.

usage: python3 benchmarks/other_cpu.py MARKER [INTERVAL]
"""
import os
import signal
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")


def busy_seconds():
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal: everything but idle and iowait is busy
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICKS


def marked(marker):
    cpu = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() not in f.read():
                    continue
            with open(f"/proc/{pid}/stat") as f:
                # the command name may hold spaces: fields after the closing parenthesis, utime and stime are 14 and 15
                rest = f.read().rsplit(")", 1)[1].split()
            cpu[pid] = (int(rest[11]) + int(rest[12])) / TICKS
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return cpu


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    marker = sys.argv[1]
    interval = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    samples = []

    def report(*_):
        mean = sum(samples) / len(samples) if samples else float("nan")
        peak = max(samples) if samples else float("nan")
        print(f"mean {mean:.2f}, max {peak:.2f} cores over {len(samples)} samples", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, report)
    signal.signal(signal.SIGINT, report)
    last_busy, last_marked, last_at = busy_seconds(), marked(marker), time.monotonic()
    while True:
        time.sleep(interval)
        busy, now_marked, at = busy_seconds(), marked(marker), time.monotonic()
        if set(last_marked) <= set(now_marked):
            # a process that started within the interval counts with all its CPU time so far
            own = sum(v - last_marked.get(p, 0.0) for p, v in now_marked.items())
            samples.append(max(0.0, (busy - last_busy - own) / (at - last_at)))
        last_busy, last_marked, last_at = busy, now_marked, at


if __name__ == "__main__":
    main()
