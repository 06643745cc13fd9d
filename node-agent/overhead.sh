#!/usr/bin/env bash
# Measures the node agent's overhead on a busy machine and writes the results as markdown (node-agent/overhead.md).
#
#   sudo bash node-agent/overhead.sh [--rounds N] [--window SECONDS] [--out FILE]    (defaults: 5, 20, overhead.md)
#
# Two conditions, alternated off, on, off, on, ..., off (N on rounds, N+1 off rounds) so that the machine's other
# load hits both and every on round is compared with the off rounds just before and just after it (a load that
# drifts during the run then does not favour either condition):
#   off: no agent;  on: the agent (--bpf-stats, a --pods-file naming the victim's and the hog's cgroups).
# In both, a background loop curls http://127.0.0.1:<port>/metrics every second (as a Prometheus would; with no
# agent the connection is refused), so the scraper's own fork/exec cost is the same in both conditions.
# Each round: a hog (stress-ng --cpu 4 --metrics-brief) in one pod cgroup, a victim in another (a small C program
# compiled here: clock_nanosleep 2 ms, then ~0.3 ms of CPU work, repeated). After a warm-up the victim measures a
# window of its own: its oversleep (actual sleep - 2 ms, p50/p99) and, from /proc/self/schedstat (= /proc/<its
# pid>/schedstat: run_delay ns, timeslices), its mean run-queue delay per timeslice: both independent of the agent.
# In the on rounds, over the same window: the agent's utime+stime from /proc/<pid>/stat (% of one core; ticks of
# 1/CLK_TCK s, so coarse) and, more finely, the sum of its threads' sum_exec_runtime (/proc/<pid>/task/*/schedstat);
# and the eBPF programs' run time from the agent's own flotilla_node_agent_bpf_run_time_seconds_total and
# _run_count_total (charged by the kernel to whichever task hit the tracepoint, so NOT in the agent's utime).
# Needs root, hybrid cgroups (v1 cpu, cpuacct, memory + cgroup2 at /sys/fs/cgroup/unified), stress-ng, cc, curl,
# python3. Cleans up its cgroups and processes on exit.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "overhead.sh: must run as root (it loads eBPF programs and creates cgroups)" >&2; exit 1; fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
command_line="bash node-agent/overhead.sh${*:+ $*}"
rounds=5 window=20 warmup=2 out=$here/overhead.md
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "overhead.sh: unknown argument $1 (use --rounds N, --window SECONDS, --out FILE)" >&2; exit 1 ;;
  esac
done
log() { echo "[overhead] $*" >&2; }

for t in stress-ng cc curl python3; do
  command -v "$t" >/dev/null || { echo "overhead.sh: $t is needed (stress-ng: bash scripts/debian-tool.sh stress-ng stress-ng x)" >&2; exit 1; }
done
cg=/sys/fs/cgroup
for c in cpu cpuacct memory unified; do
  [ -d "$cg/$c" ] || { echo "overhead.sh: needs hybrid cgroups ($cg/{cpu,cpuacct,memory} v1 and $cg/unified cgroup2); $cg/$c is missing" >&2; exit 1; }
done
grep -q ' /sys/kernel/tracing tracefs ' /proc/mounts || mount -t tracefs nodev /sys/kernel/tracing

start_load=$(cut -d' ' -f1-3 /proc/loadavg)
agent_bin=$(bash "$here/build.sh")
tmp=$(mktemp -d /tmp/flotilla-overhead.XXXXXX)
name=flotilla-overhead-$$
pids=() # every background process this script started, killed by id on exit

cleanup() {
  local rc=$?
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  # stress-ng workers and anything else left in our cgroups (all started by this script)
  for f in $(find "$cg"/{cpu,cpuacct,memory,unified}/"$name" -name cgroup.procs 2>/dev/null); do
    for p in $(cat "$f"); do kill -9 "$p" 2>/dev/null; done
  done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  sleep 0.2
  for c in cpu cpuacct memory unified; do
    [ -d "$cg/$c/$name" ] && find "$cg/$c/$name" -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -d "$cg/$c/$name" ] && log "WARNING: could not remove $cg/$c/$name"
  done
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the victim (compiled here) ---
cat > "$tmp/victim.c" <<'EOF'
/* victim WARMUP_S WINDOW_S: sleeps 2 ms (clock_nanosleep, relative), then burns 0.3 ms of its own CPU time,
 * repeatedly. Over the window (after the warm-up) it records each oversleep (actual sleep - 2 ms) and reads
 * /proc/self/schedstat at both ends; prints key=value lines at the end. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
#include <sys/prctl.h>

#define SLEEP_NS 2000000LL
#define WORK_NS 300000LL

static int64_t now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec; }
static int cmp(const void *a, const void *b) { int64_t x = *(const int64_t *)a, y = *(const int64_t *)b; return (x > y) - (x < y); }
static void schedstat(unsigned long long *run, unsigned long long *delay, unsigned long long *slices) {
  FILE *f = fopen("/proc/self/schedstat", "r");
  if (!f || fscanf(f, "%llu %llu %llu", run, delay, slices) != 3) { perror("schedstat"); exit(1); }
  fclose(f);
}
int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: victim WARMUP_S WINDOW_S\n"); return 2; }
  double warm = atof(argv[1]), win = atof(argv[2]);
  size_t cap = (size_t)(win * 1000.0 / 2.0) + 1000, n = 0;
  int64_t *over = malloc(cap * sizeof *over);
  if (!over) return 1;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* 1 ns slack: the oversleep is wake-up and scheduling delay, not slack */
  int64_t start = now(CLOCK_MONOTONIC), wstart = start + (int64_t)(warm * 1e9), wend = wstart + (int64_t)(win * 1e9);
  int in = 0;
  unsigned long long r0 = 0, d0 = 0, s0 = 0, r1, d1, s1;
  int64_t t_in = 0;
  struct timespec req = {0, SLEEP_NS};
  for (;;) {
    int64_t b = now(CLOCK_MONOTONIC);
    if (!in && b >= wstart) { in = 1; t_in = b; schedstat(&r0, &d0, &s0); }
    if (in && b >= wend) break;
    clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL);
    int64_t a = now(CLOCK_MONOTONIC);
    if (in && n < cap) over[n++] = a - b - SLEEP_NS;
    int64_t c0 = now(CLOCK_THREAD_CPUTIME_ID);
    volatile uint64_t x = 0;
    while (now(CLOCK_THREAD_CPUTIME_ID) - c0 < WORK_NS) x++;
  }
  int64_t t_out = now(CLOCK_MONOTONIC);
  schedstat(&r1, &d1, &s1);
  qsort(over, n, sizeof *over, cmp);
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += over[i];
  size_t i99 = n ? (size_t)((n * 99 + 99) / 100) - 1 : 0; /* ceil(0.99 n) - 1 */
  printf("wakeups=%zu\n", n);
  printf("oversleep_p50_us=%.2f\n", n ? over[(n + 1) / 2 - 1] / 1e3 : 0);
  printf("oversleep_p99_us=%.2f\n", n ? over[i99] / 1e3 : 0);
  printf("oversleep_mean_us=%.2f\n", n ? sum / n / 1e3 : 0);
  printf("oversleep_max_us=%.2f\n", n ? over[n - 1] / 1e3 : 0);
  printf("run_delay_ns=%llu\n", d1 - d0);
  printf("timeslices=%llu\n", s1 - s0);
  printf("runq_per_slice_us=%.2f\n", s1 > s0 ? (double)(d1 - d0) / (double)(s1 - s0) / 1e3 : 0);
  printf("victim_cpu_ms=%.1f\n", (r1 - r0) / 1e6);
  printf("window_s=%.3f\n", (t_out - t_in) / 1e9);
  return 0;
}
EOF
cc -O2 -Wall -o "$tmp/victim" "$tmp/victim.c"

# --- cgroups laid out as a kubelet's (cgroupfs driver) and the Pods naming them ---
uuid() { cat /proc/sys/kernel/random/uuid; }
hexid() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
victim_uid=$(uuid) hog_uid=$(uuid) victim_cid=$(hexid) hog_cid=$(hexid)
victim_rel=/$name/kubepods/pod$victim_uid/$victim_cid
hog_rel=/$name/kubepods/pod$hog_uid/$hog_cid
for c in cpu cpuacct memory unified; do mkdir -p "$cg/$c$victim_rel" "$cg/$c$hog_rel"; done
cat > "$tmp/pods.json" <<EOF
{"kind":"PodList","apiVersion":"v1","items":[
 {"metadata":{"name":"victim","namespace":"overhead","uid":"$victim_uid"},
  "status":{"containerStatuses":[{"name":"victim","containerID":"containerd://$victim_cid"}]}},
 {"metadata":{"name":"hog","namespace":"overhead","uid":"$hog_uid"},
  "status":{"containerStatuses":[{"name":"hog","containerID":"containerd://$hog_cid"}]}}]}
EOF
# run_in REL CMD...: starts CMD in the background inside cgroup REL of every hierarchy; sets $! as usual
run_in() {
  local rel=$1; shift
  CG_DIRS="$cg/cpu$rel $cg/cpuacct$rel $cg/memory$rel $cg/unified$rel" \
    sh -c 'for d in $CG_DIRS; do echo $$ > "$d/cgroup.procs" || exit 1; done; exec "$@"' sh "$@" &
}

# a free local port (the scraper's target in both conditions)
port=
for p in $(seq 19435 19535); do
  if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "overhead.sh: no free port in 19435-19535" >&2; exit 1; }
url=http://127.0.0.1:$port/metrics

agent_ticks() { local s; s=$(cat "/proc/$1/stat"); s=${s##*) }; set -- $s; echo $(( ${12} + ${13} )); } # utime+stime
agent_ns() { local t=0 x; for f in /proc/"$1"/task/*/schedstat; do read -r x _ < "$f" && t=$((t + x)); done; echo $t; }
bpf_totals() { # "program run_time_seconds run_count" lines from a scrape
  awk -F'[{}" ]+' '/^flotilla_node_agent_bpf_run_(time_seconds|count)_total\{/ { k=$3; if ($1 ~ /time/) t[k]=$4; else c[k]=$4 }
    END { for (k in t) print k, t[k], c[k] }' "$1"
}
clk_tck=$(getconf CLK_TCK)
results=$tmp/results.tsv
: > "$results"

run_round() { # ROUND COND
  local r=$1 cond=$2 agent_pid= scraper_pid hog_pid victim_pid load others t0 t1 k0=0 k1=0 n0=0 n1=0
  load=$(cut -d' ' -f1 /proc/loadavg)
  others=$(pgrep -xc node-agent || true) # node agents of other sessions (ours is not started yet)
  if [ "$cond" = on ]; then
    "$agent_bin" --listen "127.0.0.1:$port" --pods-file "$tmp/pods.json" --node-name overhead --bpf-stats \
      > "$tmp/agent-$r.log" 2>&1 &
    agent_pid=$!; pids+=("$agent_pid")
    local ok=
    for _ in $(seq 100); do
      if curl -sf --max-time 2 "$url" -o "$tmp/m.txt" && grep -q '^flotilla_node_agent_cgroups_mapped 2$' "$tmp/m.txt"; then ok=1; break; fi
      kill -0 "$agent_pid" 2>/dev/null || break
      sleep 0.1
    done
    [ -n "$ok" ] || { log "the agent did not come up with both cgroups mapped:"; cat "$tmp/agent-$r.log" >&2; exit 1; }
  fi
  ( while :; do curl -s -o /dev/null --max-time 2 "$url" || true; sleep 1; done ) &
  scraper_pid=$!; pids+=("$scraper_pid")

  if [ -n "$agent_pid" ]; then curl -sf "$url" -o "$tmp/m0.txt"; k0=$(agent_ticks "$agent_pid"); n0=$(agent_ns "$agent_pid"); fi
  t0=$(date +%s.%N)
  run_in "$hog_rel" stress-ng --cpu 4 --metrics-brief -t $((warmup + window + 1)) > "$tmp/hog-$r.log" 2>&1
  hog_pid=$!; pids+=("$hog_pid")
  run_in "$victim_rel" "$tmp/victim" "$warmup" "$window" > "$tmp/victim-$r.out"
  victim_pid=$!; pids+=("$victim_pid")
  wait "$victim_pid"
  t1=$(date +%s.%N)
  if [ -n "$agent_pid" ]; then k1=$(agent_ticks "$agent_pid"); n1=$(agent_ns "$agent_pid"); curl -sf "$url" -o "$tmp/m1.txt"; fi
  wait "$hog_pid" || true
  kill "$scraper_pid"; wait "$scraper_pid" 2>/dev/null || true
  local bpf="-"
  if [ -n "$agent_pid" ]; then
    kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
    # program:dt_seconds:dcount,... between the two scrapes
    bpf=$(join <(bpf_totals "$tmp/m0.txt" | sort) <(bpf_totals "$tmp/m1.txt" | sort) \
      | awk '{ printf "%s%s:%.9f:%d", (NR>1?",":""), $1, $4-$2, $5-$3 }')
  fi
  local hist=-
  # proof that the per-cgroup histograms were produced: the agent's count of the victim's waits (victim's whole life)
  [ -n "$agent_pid" ] && hist=$(awk '/^ebpf_exporter_run_queue_latency_seconds_count\{.*pod="victim"/ { print $NF }' "$tmp/m1.txt")
  local bogo
  bogo=$(awk '/metrc:.* cpu +[0-9]/ { print $(NF-1) }' "$tmp/hog-$r.log")
  [ -n "$bogo" ] || { log "no stress-ng metrics in round $r:"; cat "$tmp/hog-$r.log" >&2; exit 1; }
  declare -A v=()
  while IFS='=' read -r key val; do v[$key]=$val; done < "$tmp/victim-$r.out"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$r" "$cond" "$load" "$others" "${v[wakeups]}" "${v[oversleep_p50_us]}" "${v[oversleep_p99_us]}" \
    "${v[oversleep_mean_us]}" "${v[run_delay_ns]}" "${v[timeslices]}" "${v[runq_per_slice_us]}" "$bogo" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" "$((k1 - k0))" "$((n1 - n0))" "$bpf" "$clk_tck" "${hist:--}" \
    >> "$results"
  log "round $r $cond: load $load, runq/slice ${v[runq_per_slice_us]} us, oversleep p50 ${v[oversleep_p50_us]} p99 ${v[oversleep_p99_us]} us, hog $bogo bogo/s${agent_pid:+, agent $((k1 - k0)) ticks, bpf $bpf}"
}

log "agent $agent_bin; port $port; $rounds rounds x 2 conditions, window ${window}s (+${warmup}s warm-up); load $start_load"
for r in $(seq "$rounds"); do
  run_round "$r" off
  run_round "$r" on
done
run_round $((rounds + 1)) off # so that every on round has an off round on both sides

date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
python3 - "$results" "$out" "$date_utc" "$model" "$(uname -r)" "$(nproc)" "$start_load" "$command_line" "$window" "$warmup" "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'EOF'
import sys, statistics as st
res, out, date, model, kernel, ncpu, load, cmd, window, warmup, commit = sys.argv[1:]
cols = ["round", "cond", "load1", "other_agents", "wakeups", "p50", "p99", "mean", "run_delay_ns", "timeslices",
        "runq", "bogo", "wall", "ticks", "agent_ns", "bpf", "clk_tck", "hist"]
rows = [dict(zip(cols, l.rstrip("\n").split("\t"))) for l in open(res) if l.strip()]
for r in rows:
    for k in cols:
        if k not in ("cond", "bpf", "hist"):
            r[k] = float(r[k])
    if r["cond"] == "on":
        progs = {}
        for part in r["bpf"].split(","):
            name, secs, cnt = part.split(":")
            progs[name] = (float(secs), int(cnt))
        r["progs"] = progs
        r["bpf_pct"] = 100 * sum(s for s, _ in progs.values()) / r["wall"]
        r["agent_pct"] = 100 * r["ticks"] / r["clk_tck"] / r["wall"]
        r["agent_ns_pct"] = 100 * r["agent_ns"] / 1e9 / r["wall"]
off = sorted((r for r in rows if r["cond"] == "off"), key=lambda r: r["round"])
on = sorted((r for r in rows if r["cond"] == "on"), key=lambda r: r["round"])

def spread(vals, fmt):
    return f"{fmt.format(st.median(vals))} ({fmt.format(min(vals))} - {fmt.format(max(vals))})"

L = []
L.append("# Node agent overhead on a busy machine\n")
L.append(f"- Date: {date}; commit {commit}")
L.append(f"- Machine: {ncpu} CPUs, {model}; kernel {kernel}; load average at start {load} (the machine is shared with other jobs)")
L.append(f"- Command: `{cmd}` (as root)")
L.append(f"- {len(on)} on rounds and {len(off)} off rounds, alternated off, on, off, ..., on, off; each round a {window} s window after a {warmup} s warm-up.")
L.append("- Each round: `stress-ng --cpu 4 --metrics-brief` in one pod cgroup (hog), the victim in another (C, "
         "`clock_nanosleep` 2 ms relative with 1 ns timer slack, then 0.3 ms of its own CPU time, repeated); "
         "v1 cpu/cpuacct/memory and cgroup2 directories laid out as `/<run>/kubepods/pod<uid>/<cid>`.")
L.append("- off: no agent. on: the agent with `--bpf-stats` (the kernel's run time accounting adds a little to every "
         "program run, so on is slightly pessimistic) and `--pods-file` naming both cgroups (per-cgroup histograms "
         "exported). In both conditions a background loop curls `/metrics` every 1 s (refused when off).")
L.append("- Victim figures are the victim's own: oversleep = actual sleep - 2 ms; run-queue delay per timeslice = "
         "delta run_delay / delta timeslices of `/proc/self/schedstat` (same file as `/proc/<pid>/schedstat`) over the window.")
L.append("- Agent CPU: utime+stime from `/proc/<pid>/stat` (1/CLK_TCK s ticks) and the sum of its threads' "
         "`sum_exec_runtime` (`/proc/<pid>/task/*/schedstat`, ns), and the eBPF programs' run time (from the agent's "
         "`flotilla_node_agent_bpf_run_*_total`, scraped at both ends), from the hog's start to the victim's end "
         "(warm-up + window), as % of one core. eBPF run time is "
         "charged by the kernel to whichever task hit the tracepoint, so it is not in the agent's own CPU: both are given.\n")

L.append("## Victim and hog, off vs on\n")
L.append("Median (min - max) over the rounds. Ratio per on round k: on_k / mean(off_k, off_k+1), the off rounds "
         "run just before and just after it. A direction is claimed only when every on round is above both of its "
         "neighbouring off rounds (or below both).\n")
L.append("| figure | off | on | ratio on / mean(neighbouring offs) per round | median ratio | same direction in every round? |")
L.append("|---|---|---|---|---|---|")
figs = [("victim run-queue delay per timeslice (us)", "runq", "{:.1f}"),
        ("victim oversleep p50 (us)", "p50", "{:.1f}"),
        ("victim oversleep p99 (us)", "p99", "{:.0f}"),
        ("victim oversleep mean (us)", "mean", "{:.1f}"),
        ("victim wake-ups in the window", "wakeups", "{:.0f}"),
        ("hog throughput (bogo ops/s, real time)", "bogo", "{:.1f}")]
verdicts = []
for title, k, fmt in figs:
    ratios, up, down = [], True, True
    for i, b in enumerate(on):
        a1, a2 = off[i][k], off[i + 1][k]
        ratios.append(b[k] / ((a1 + a2) / 2) if a1 + a2 else float("nan"))
        up = up and b[k] > max(a1, a2)
        down = down and b[k] < min(a1, a2)
    agree = ("yes: every on round above both neighbouring offs" if up else
             "yes: every on round below both neighbouring offs" if down else "no")
    verdicts.append((title, agree, st.median(ratios)))
    L.append(f"| {title} | {spread([r[k] for r in off], fmt)} | {spread([r[k] for r in on], fmt)} | "
             f"{', '.join(f'{x:.3f}' for x in ratios)} | {st.median(ratios):.3f} | {agree} |")
L.append("")

L.append("## The agent's own cost (on rounds)\n")
L.append("| figure | median (min - max) |")
L.append("|---|---|")
L.append(f"| agent process utime+stime (% of one core) | {spread([r['agent_pct'] for r in on], '{:.3f}')} |")
L.append(f"| agent process, threads' sum_exec_runtime (% of one core) | {spread([r['agent_ns_pct'] for r in on], '{:.3f}')} |")
L.append(f"| eBPF programs, total run time (% of one core) | {spread([r['bpf_pct'] for r in on], '{:.3f}')} |")
names = sorted({n for r in on for n in r["progs"]})
for n in names:
    per = [r["progs"][n][0] * 1e9 / r["progs"][n][1] for r in on if r["progs"].get(n, (0, 0))[1] > 0]
    runs = [r["progs"][n][1] / r["wall"] for r in on if n in r["progs"]]
    if per:
        L.append(f"| `{n}`: ns per run | {spread(per, '{:.0f}')} |")
    L.append(f"| `{n}`: runs per second | {spread(runs, '{:.0f}')} |")
L.append("")

L.append("## Every round\n")
L.append("| round | cond | load1 at start | other node agents running | wake-ups | runq/slice us | oversleep p50 us | p99 us | hog bogo ops/s | agent span s | agent ticks | agent CPU ms (schedstat) | eBPF run time ms | agent's count of victim waits |")
L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in sorted(rows, key=lambda r: (r["round"], r["cond"] != "off")):
    if r["cond"] == "on":
        agent = "%.0f | %.1f | %.1f" % (r["ticks"], r["agent_ns"] / 1e6, sum(s for s, _ in r["progs"].values()) * 1e3)
    else:
        agent = "- | - | -"
    agent += " | " + r["hist"]
    L.append(f"| {r['round']:.0f} | {r['cond']} | {r['load1']:.2f} | {r['other_agents']:.0f} | {r['wakeups']:.0f} | {r['runq']:.1f} | "
             f"{r['p50']:.1f} | {r['p99']:.0f} | {r['bogo']:.1f} | {r['wall']:.1f} | {agent} |")
L.append("")
open(out, "w").write("\n".join(L) + "\n")
for title, agree, med in verdicts:
    print(f"{title}: median ratio on/off {med:.3f}; every round agrees: {agree}", file=sys.stderr)
EOF
log "wrote $out"
