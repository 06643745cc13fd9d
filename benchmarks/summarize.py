#!/usr/bin/env python3
"""Turns the JMH JSON results of WorkQueueBenchmark and ReconcileLoopBenchmark into a Markdown summary.

Each fork's score is the mean of its measurement iterations; the summary gives, per configuration,
the median of the fork scores with their min and max, and ratios of medians.

Several runs (JSON files) of one benchmark are pooled: their forks together give the median, min and
max; the median of each run is listed as well, to show drift between runs.

usage: python3 benchmarks/summarize.py --workqueue WQ1.json [WQ2.json ...] \
           --reconcileloop RL1.json [RL2.json ...] --out OUT.md [--conditions TEXT ...]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess


def fork_scores(metric):
    return [sum(it) / len(it) for it in metric["rawData"]]


def load(paths):
    rows = {}
    for path in paths:
        with open(path) as f:
            for r in json.load(f):
                name = r["benchmark"].rsplit(".", 1)[1]
                params = r.get("params", {})
                key = (name, tuple(sorted(params.items())))
                entry = rows.setdefault(key, {"primary": [], "runs": [], "forks": 0, "jvm": r["jvm"],
                                              "iterations": r["measurementIterations"],
                                              "time": r["measurementTime"]})
                scores = fork_scores(r["primaryMetric"])
                entry["primary"] += scores
                entry["runs"].append(statistics.median(scores))
                entry["forks"] += r["forks"]
                for sname, s in r.get("secondaryMetrics", {}).items():
                    entry.setdefault(sname, []).extend(fork_scores(s))
    return rows


def stats(xs):
    return statistics.median(xs), min(xs), max(xs)


def fmt(x):
    return f"{x / 1e6:.3f} M" if x >= 1e5 else f"{x:,.0f}"


def runs(entry):
    return ", ".join(f"{x / 1e6:.2f}" for x in entry["runs"]) + " M"


def machine(jvm):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    # The JVM the forks ran on, as JMH recorded it.
    version = subprocess.run([jvm, "-version"], capture_output=True, text=True).stderr.strip().splitlines()
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return {"nproc": nproc, "cpu": cpu, "java": " / ".join(version[:2]),
            "mem": f"{mem_kb / 1024 / 1024:.1f} GiB", "kernel": platform.release()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workqueue", nargs="+", required=True)
    ap.add_argument("--reconcileloop", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--conditions", nargs="*", default=[])
    ap.add_argument("--notes", help="a Markdown file appended as the last section")
    a = ap.parse_args()

    wq = load(a.workqueue)
    rl = load(a.reconcileloop)
    m = machine(next(iter(wq.values()))["jvm"])
    out = []
    w = out.append
    w("# JMH results: WorkQueue and ReconcileLoop\n")
    w("## Machine\n")
    w(f"- nproc: {m['nproc']}; CPU: {m['cpu']}; memory: {m['mem']}; kernel: {m['kernel']}")
    w(f"- JDK: {m['java']}")
    any_row = next(iter(wq.values()))
    w(f"- Each configuration: {len(a.workqueue)} runs x 3 forks = {any_row['forks']} forks, each of "
      f"{any_row['iterations']} measurement iterations of {any_row['time']} after 2 warmup iterations of 2 s. "
      "A fork's score is the mean of its iterations; the tables give the median of all fork scores with "
      "their min and max, and the median of each run separately.")
    for c in a.conditions:
        w(f"- {c}")
    w("")

    def q(threads, keys, listener):
        name = "cycle1Thread" if threads == 1 else "cycle8Threads"
        return wq[(name, (("keys", keys), ("listener", listener)))]

    w("## WorkQueueBenchmark: add/poll/done cycles per second\n")
    w("`got` and `empty` are JMH's per-thread auxiliary counters (cycles whose poll handed out a key / "
      "found nothing within 1 ms), medians over forks.\n")
    w("| threads | keys | listener | median ops/s | min | max | spread (max-min)/median | run medians | ns/cycle (median) | got/s | empty/s |")
    w("|---:|---|---|---:|---:|---:|---:|---|---:|---:|---:|")
    med = {}
    for threads in (1, 8):
        for keys in ("disjoint", "shared16"):
            for listener in ("none", "prometheus"):
                e = q(threads, keys, listener)
                md, lo, hi = stats(e["primary"])
                med[(threads, keys, listener)] = md
                got = statistics.median(e.get("got", [0]))
                empty = statistics.median(e.get("empty", [0]))
                w(f"| {threads} | {keys} | {listener} | {fmt(md)} | {fmt(lo)} | {fmt(hi)} | "
                  f"{(hi - lo) / md * 100:.1f}% | {runs(e)} | {1e9 / md:.0f} | {fmt(got)} | {empty:,.0f} |")
    w("")
    w("### Ratios (of medians)\n")
    w("| comparison | configuration | ratio |")
    w("|---|---|---:|")
    for keys in ("disjoint", "shared16"):
        for listener in ("none", "prometheus"):
            w(f"| 8 threads / 1 thread | {keys}, {listener} | {med[(8, keys, listener)] / med[(1, keys, listener)]:.2f} |")
    for threads in (1, 8):
        for listener in ("none", "prometheus"):
            w(f"| shared16 (collisions) / disjoint | {threads} thr, {listener} | "
              f"{med[(threads, 'shared16', listener)] / med[(threads, 'disjoint', listener)]:.2f} |")
    for threads in (1, 8):
        for keys in ("disjoint", "shared16"):
            p, n = med[(threads, keys, "prometheus")], med[(threads, keys, "none")]
            w(f"| prometheus / none (metrics) | {threads} thr, {keys} | {p / n:.2f} "
              f"({1e9 / p - 1e9 / n:+.0f} ns/cycle) |")
    w("")

    w("## ReconcileLoopBenchmark: reconciles per second (no-op reconciler, batches of 10,000 keys)\n")
    w("| workers | median reconciles/s | min | max | spread (max-min)/median | run medians | ns/reconcile (median) |")
    w("|---:|---:|---:|---:|---:|---|---:|")
    lmed = {}
    for workers in ("1", "4"):
        e = rl[("reconcileBatch", (("workers", workers),))]
        md, lo, hi = stats(e["primary"])
        lmed[workers] = md
        w(f"| {workers} | {fmt(md)} | {fmt(lo)} | {fmt(hi)} | {(hi - lo) / md * 100:.1f}% | {runs(e)} | {1e9 / md:.0f} |")
    w("")
    w("### Reconcile loop vs raw queue cycle (1 thread, disjoint keys)\n")
    w("Overhead = ns per reconcile minus ns per raw cycle. The loop runs with WorkQueueMetrics, so the "
      "`prometheus` cycle is the like-for-like baseline; `none` adds the metrics' cost to the overhead.\n")
    w("| workers | baseline cycle | loop / cycle throughput | overhead ns/reconcile |")
    w("|---:|---|---:|---:|")
    for workers in ("1", "4"):
        for listener in ("prometheus", "none"):
            c = med[(1, "disjoint", listener)]
            l = lmed[workers]
            w(f"| {workers} | 1 thr, {listener} ({1e9 / c:.0f} ns) | {l / c:.2f} | {1e9 / l - 1e9 / c:+.0f} |")
    w(f"\nworkers 4 / workers 1: {lmed['4'] / lmed['1']:.2f}\n")

    if a.notes:
        with open(a.notes) as f:
            w(f.read())

    with open(a.out, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
