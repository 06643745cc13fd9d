#!/usr/bin/env bash
# The SIGKILL failover series of ReplicaProcessesTest: three reading replica JVMs, one SIGKILLed per trial
# (the coordinator in trials 0, 3, 6, 9; a member otherwise) and replaced; every namespace of the dead
# replica's shards must be reconciled elsewhere within 1.3 lease durations, and no two replicas may
# reconcile the same namespace at once.
# ./test.sh runs 2 trials (a coordinator kill, a member kill); this runs N (default 10) and writes
# sharding/results/sigkill-failover-trials.md with every trial's figures and the machine's load.
# About 17 s per trial on 2 cores.
#
#   scripts/sigkill-failover-trials.sh [N]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
trials=${1:-10}
case "$trials" in ''|*[!0-9]*|0) echo "usage: $0 [trials >= 1]" >&2; exit 2;; esac
out=sharding/results/sigkill-failover-trials.md
. scripts/trials-lib.sh
trials_prepare
mkdir -p "$(dirname "$out")"
log=$(mktemp)
trials_maven "$log" -pl sharding -am test -Dtest='ReplicaProcessesTest#afterSigkill*' -Dsurefire.failIfNoSpecifiedTests=false \
    -Dflotilla.killTrials="$trials"
report=sharding/target/surefire-reports/dev.flotilla.sharding.ReplicaProcessesTest-output.txt
{
  trials_header "SIGKILL failover trials (ReplicaProcessesTest, $trials trials)" "scripts/sigkill-failover-trials.sh $trials" \
      ReplicaProcessesTest "$log"
  echo "Lease 6 s, renew deadline 4 s, retry 1 s, 32 shards, 3 reading replica JVMs, 40 namespaces of 5 objects."
  echo "allReconciledMs: from the SIGKILL until every namespace of the dead replica's shards was reconciled by a"
  echo "survivor. Bound: 7,800 ms (1.3 leases), every trial; no overlapping reconciles (OverlapChecker)."
  echo
  echo '```'
  lines=$(grep -h -e "^TRIAL-RESULT sigkill-reading " -e "^reconciles recorded" "$report" 2>/dev/null \
      | sed "s/^TRIAL-RESULT sigkill-reading //" || true)
  echo "${lines:-(no result: see the failures below)}"
  echo '```'
  echo
  trials_failures "$log"
} >"$out"
rm -f "$log"
echo "wrote $out (Maven exit status $status)"
exit "$status"
