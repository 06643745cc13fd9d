#!/usr/bin/env bash
# JMH of controller-core's hot path: WorkQueueBenchmark and ReconcileLoopBenchmark, JMH_RUNS runs (3) of three
# forks each, one after the other. Before each run it records the load average; during it, the CPU that processes
# other than JMH's use (benchmarks/other_cpu.py, every 5 s). Writes benchmarks/results/jmh-{workqueue,reconcileloop}-runN.json
# and benchmarks/results/jmh-summary.md (summarize.py; a Markdown file named by JMH_NOTES is appended as its notes).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. scripts/java-env.sh
runs=${JMH_RUNS:-3}
results=benchmarks/results
jar=benchmarks/target/benchmarks.jar
./mvnw -q -B -ntp -pl benchmarks -am package -DskipTests -Dflotilla.aot.skip=true
wq=() rl=()
conditions=("Commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo ' with uncommitted changes'); JMH via benchmarks/jmh.sh.")
for r in $(seq 1 "$runs"); do
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    began=$(date -u +%H:%M)
    python3 benchmarks/other_cpu.py benchmarks.jar 5 > "$results/.other-cpu-run$r" &
    sampler=$!
    wq+=("$results/jmh-workqueue-run$r.json")
    rl+=("$results/jmh-reconcileloop-run$r.json")
    "$JAVA_HOME/bin/java" -jar "$jar" WorkQueue -f 3 -rf json -rff "${wq[-1]}"
    "$JAVA_HOME/bin/java" -jar "$jar" ReconcileLoop -f 3 -rf json -rff "${rl[-1]}"
    kill -TERM "$sampler"
    wait "$sampler" || true
    other=$(cat "$results/.other-cpu-run$r")
    rm -f "$results/.other-cpu-run$r"
    conditions+=("Run $r at $began-$(date -u +%H:%M) UTC (WorkQueue, then ReconcileLoop): load average $load just before it; CPU used by processes other than JMH's, sampled every 5 s: $other (of $(nproc)).")
done
notes=()
if [[ -n "${JMH_NOTES:-}" ]]; then
    notes=(--notes "$JMH_NOTES")
fi
python3 benchmarks/summarize.py --workqueue "${wq[@]}" --reconcileloop "${rl[@]}" --out "$results/jmh-summary.md" \
    --conditions "${conditions[@]}" "${notes[@]}"
echo "jmh: wrote $results/jmh-summary.md"
