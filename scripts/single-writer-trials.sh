#!/usr/bin/env bash
# The single-writer trial series of SingleWriterProcessesTest: SIGKILL, SIGTERM under a write stream,
# SIGSTOP of an owner with writes queued for permits (fence on, and fence off to show the check
# fails), a replica black-holed by the fault proxy, a replica restarted in place with its Pod's
# proof, three replicas started together, and ranges re-laid out under a write stream; each judged
# from the REAL API server's audit log.
# ./test.sh runs one trial of each; this runs N (default 10) and writes
# sharding/results/single-writer-trials.md with every trial's figures and the machine's load.
# About 6 minutes per trial of all eight scenarios on 2 cores.
#
#   scripts/single-writer-trials.sh [N] [SCENARIO...]   e.g. scripts/single-writer-trials.sh 10 restart cold-start
#
# With scenarios named, only those run, into sharding/results/single-writer-trials-<names>.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
trials=${1:-10}
case "$trials" in ''|*[!0-9]*|0) echo "usage: $0 [trials >= 1] [scenario...]" >&2; exit 2;; esac
shift $(( $# > 0 ? 1 : 0 ))
# scenario -> test method of SingleWriterProcessesTest (the one place that maps them)
declare -A method=(
  [sigkill]='afterSigkill*' [sigterm]='onSigterm*' [sigstop]='anOwnerFrozen*' [sigstop-fence-off]='withTheWriteFenceOff*'
  [black-hole]='aReplicaBlackHoled*' [restart]='aReplicaRestartedInPlace*' [cold-start]='threeReplicasStartedTogether*' [relayout]='rangesReLaidOut*')
all=(sigkill sigterm sigstop sigstop-fence-off black-hole restart cold-start relayout)
scenarios=("$@")
filter=SingleWriterProcessesTest
out=sharding/results/single-writer-trials.md
if [ ${#scenarios[@]} -gt 0 ]; then
  methods=()
  for sc in "${scenarios[@]}"; do
    [ -n "${method[$sc]:-}" ] || { echo "unknown scenario '$sc' (known: ${all[*]})" >&2; exit 2; }
    methods+=("${method[$sc]}")
  done
  filter="SingleWriterProcessesTest#$(printf '%s\n' "${methods[@]}" | sort -u | paste -sd+)"
  out=sharding/results/single-writer-trials-$(IFS=-; echo "${scenarios[*]}").md
else
  scenarios=("${all[@]}")
fi
. scripts/trials-lib.sh
trials_prepare
./mvnw -q -B -ntp install -DskipTests -pl sharding -am
mkdir -p "$(dirname "$out")"
log=$(mktemp)
trials_maven "$log" -pl sharding test -Dtest="$filter" -Dsurefire.failIfNoSpecifiedTests=false -Dflotilla.trials="$trials"
report=sharding/target/surefire-reports/dev.flotilla.sharding.SingleWriterProcessesTest-output.txt
{
  trials_header "Single-writer trials (SingleWriterProcessesTest, $trials trials per scenario)" \
      "scripts/single-writer-trials.sh $trials" SingleWriterProcessesTest "$log"
  echo "Lease 6 s, renew deadline 4 s, retry 1 s, 32 shards, 3 replica JVMs per trial, each its own user."
  echo "Violations: writes of one replica the API server accepted while another held the namespace's shard,"
  echo "from the server's audit log (SingleWriterCheck). Bounds: SIGKILL takeover <= 7,800 ms (1.3 leases),"
  echo "graceful handover <= 2,000 ms; the fence-off run must show violations in every trial; a restart in place"
  echo "takes its shards back before anyone else may; three replicas started together move no shard."
  echo
  for scenario in "${scenarios[@]}"; do
    echo "## $scenario"
    echo
    trials_results "TRIAL-RESULT $scenario " "$report"
    echo
  done
  trials_failures "$log"
} >"$out"
rm -f "$log"
echo "wrote $out (Maven exit status $status)"
exit "$status"
