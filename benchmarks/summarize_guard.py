#!/usr/bin/env python3
"""Turns runs of GuardOverheadBenchmark (JMH JSON, one file per run) into the tables of results/jmh-guard-summary.md.

Per configuration (transport x client): each run's score, the median of runs, their spread, and the median of every
measurement iteration with its min and max; then guarded / plain per transport, per run and as medians. A difference
is called only where every run agrees on its side of 1.

usage: python3 benchmarks/summarize_guard.py RUN1.json RUN2.json ... [--title TEXT]
"""
import argparse
import json
import statistics


def load(paths):
    rows = {}
    for run, path in enumerate(paths):
        with open(path) as f:
            for r in json.load(f):
                p = r.get("params", {})
                key = (p["transport"], p["client"])
                e = rows.setdefault(key, {"runs": [None] * len(paths), "iterations": [], "unit": r["primaryMetric"]["scoreUnit"]})
                e["runs"][run] = r["primaryMetric"]["score"]
                for fork in r["primaryMetric"]["rawData"]:
                    e["iterations"] += fork
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--title", default="Results")
    a = ap.parse_args()
    rows = load(a.runs)
    unit = next(iter(rows.values()))["unit"]
    n = len(a.runs)
    out = [f"## {a.title} ({unit}, lower is better)\n",
           "| transport | client | " + " | ".join(f"run {i + 1}" for i in range(n))
           + " | median of runs | spread (max-min)/median | median of the iterations (min-max) |",
           "|---|---|" + "---:|" * n + "---:|---:|---|"]
    for (transport, client), e in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1] != "plain")):
        md = statistics.median(e["runs"])
        it = e["iterations"]
        out.append(f"| {transport} | {client} | " + " | ".join(f"{x:.1f}" for x in e["runs"])
                   + f" | **{md:.1f}** | {(max(e['runs']) - min(e['runs'])) / md * 100:.0f}% | "
                   f"{statistics.median(it):.2f} ({min(it):.1f}-{max(it):.1f}) |")
    out += ["", "| transport | guarded / plain, median of runs | per run | verdict |", "|---|---:|---|---|"]
    for transport in sorted({t for t, _ in rows}):
        g, p = rows[(transport, "guarded")]["runs"], rows[(transport, "plain")]["runs"]
        ratios = [x / y for x, y in zip(g, p)]
        verdict = ("guarded slower in every run" if all(r > 1 for r in ratios)
                   else "guarded faster in every run" if all(r < 1 for r in ratios) else "runs disagree: no difference called")
        out.append(f"| {transport} | {statistics.median(g) / statistics.median(p):.2f} | "
                   + ", ".join(f"{r:.2f}" for r in ratios) + f" | {verdict} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
