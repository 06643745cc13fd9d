#!/usr/bin/env bash
# Measures what a pod's CPU weight (cpu.shares, as the kubelet writes a CPU request) does to a latency-sensitive
# victim's run-queue wait beside a CPU hog in a sibling pod (1024 shares, stress-ng --cpu 4), on this machine's kernel:
# the kernel's own per-thread schedstat (run_delay / timeslices) over 8 s per weight. Needs root and cgroup v1's cpu
# controller at /sys/fs/cgroup/cpu, stress-ng, and the tuning module's test classes (ScenarioWorkload). The question
# it answers: does the tuner's noisy-neighbour remedy (a larger CPU request) shorten the victim's waits at all?
#   tuning/scripts/cpu-weight-vs-wait.sh [weights...]     (default: 204 409 1024 2048 204)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
[ "$(id -u)" -eq 0 ] || { echo "cpu-weight-vs-wait.sh: needs root (it writes cgroups)" >&2; exit 1; }
. scripts/java-env.sh
classes=tuning/target/test-classes
[ -f "$classes/dev/flotilla/tuning/kernel/ScenarioWorkload.class" ] || { echo "cpu-weight-vs-wait.sh: build the tuning tests first (./mvnw -pl tuning test-compile)" >&2; exit 1; }
weights=("$@"); [ ${#weights[@]} -gt 0 ] || weights=(204 409 1024 2048 204)
cg=/sys/fs/cgroup/cpu/flotilla-weight-$$
mkdir -p "$cg/kubepods/podv/c" "$cg/kubepods/podh/c"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for d in podv/c podh/c podv podh; do rmdir "$cg/kubepods/$d" 2>/dev/null || true; done
  rmdir "$cg/kubepods" "$cg" 2>/dev/null || true
}
trap cleanup EXIT
echo 1024 > "$cg/kubepods/podh/cpu.shares"
sh -c "echo \$\$ > $cg/kubepods/podh/c/cgroup.procs; exec stress-ng --cpu 4 --timeout 600s --quiet" & pids+=($!)
sh -c "echo \$\$ > $cg/kubepods/podv/c/cgroup.procs; exec $JAVA_HOME/bin/java -Xmx32m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  -XX:-UseDynamicNumberOfCompilerThreads -cp $classes dev.flotilla.tuning.kernel.ScenarioWorkload victim" & pids+=($!)
sleep 4
waits() { for t in $(cat "$cg/kubepods/podv/c/tasks"); do cat "/proc/$t/schedstat" 2>/dev/null; done | awk '{d+=$2; s+=$3} END {printf "%.0f %.0f", d, s}'; }
echo "# $(date -u +%FT%TZ), $(nproc) cores, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| victim pod shares | waits in 8 s | mean wait |"
echo "|---|---|---|"
for w in "${weights[@]}"; do
  echo "$w" > "$cg/kubepods/podv/cpu.shares"; echo "$w" > "$cg/kubepods/podv/c/cpu.shares"
  sleep 1; read -r d0 s0 <<<"$(waits)"; sleep 8; read -r d1 s1 <<<"$(waits)"
  awk -v w="$w" -v d="$((d1 - d0))" -v s="$((s1 - s0))" 'BEGIN {printf "| %d | %d | %.0f us |\n", w, s, d / s / 1000}'
done
