#!/usr/bin/env bash
# Runs one shipped experiment alone over a series of seeds, each on a fresh cluster (other pod names, another target
# picked), and writes each run's verdict and figures to chaos-tests/results/seeds-EXPERIMENT.md: what one draw hides
# (./test.sh runs each experiment with one seed) shows over many. The longest unowned span is the longest any range went
# without a live owner after the fault; a dead holder counts as live until its membership expires, so a span there is a
# range handed back by a live holder, or a failover's take.
# Usage: chaos-tests/seeds.sh EXPERIMENT FIRST_SEED COUNT. About 65 s a seed on 2 cores, after an install of the project
# (about 45 s): the replicas run the installed manager jar, which bundles the sharding classes, so a run after changing
# sharding without it would judge the old code.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. scripts/java-env.sh
if [ $# -ne 3 ]; then
  echo "usage: $0 EXPERIMENT FIRST_SEED COUNT (EXPERIMENT: a file name of deploy/chaos or chaos-tests/experiments, without .yaml)" >&2
  exit 2
fi
experiment=$1 first=$2 count=$3
./mvnw -B -ntp -q install -DskipTests -Dflotilla.aot.skip=true
report=chaos-tests/target/chaos-report/cluster-1/chaos-report.json
field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$report" | head -1; }
rows=""
failed=0
for ((seed = first; seed < first + count; seed++)); do
  rm -f "$report"
  if ./mvnw -B -ntp -q -pl chaos-tests test -Dtest=LocalChaosTest -Dsurefire.failIfNoSpecifiedTests=false \
      -Dflotilla.chaos.only="$experiment" -Dflotilla.chaos.seed="$seed" > "chaos-tests/target/seeds-$seed.log" 2>&1; then
    verdict=holds
  else
    verdict=FAILS
    failed=$((failed + 1))
  fi
  if [ -f "$report" ]; then
    row="| $seed | $verdict | $(field targets | tr -d '[]"') | $(field convergenceMillis) | $(field longestUnownedSeconds) | $(field allRangesOwnedAfterFaultSeconds) |"
  else
    row="| $seed | $verdict (no report: chaos-tests/target/seeds-$seed.log) | | | | |"
  fi
  echo "$row"
  rows+="$row"$'\n'
done
out=chaos-tests/results/seeds-$experiment.md
{
  echo "# $experiment over seeds $first-$((first + count - 1))"
  echo
  echo "\`chaos-tests/seeds.sh $experiment $first $count\` at $(git rev-parse --short HEAD) on $(date -u +%Y-%m-%d): $failed of $count failed."
  echo
  echo "| seed | verdict | target | convergence ms | longest unowned s | every range owned again after s |"
  echo "|---|---|---|---|---|---|"
  printf '%s' "$rows"
} > "$out"
echo "seeds.sh: wrote $out"
