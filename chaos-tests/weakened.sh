#!/usr/bin/env bash
# Runs LocalChaosTest's three weakened builds (the write fence off, a replica that drops updates, the rate limiter
# configured away) and no shipped experiment, and writes their verdicts to chaos-tests/results/weakened.md.
# ./test.sh runs the first one only (see LocalChaosTest); this shows the other two invariants still able to fail.
# Needs the project installed (./mvnw install -DskipTests, or a ./test.sh run before). About 4 minutes on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. scripts/java-env.sh
./mvnw -B -ntp -pl chaos-tests test -Dtest=LocalChaosTest -Dsurefire.failIfNoSpecifiedTests=false \
    -Dflotilla.chaos.only=none -Dflotilla.chaos.weakened=all "$@"
out=chaos-tests/results/weakened.md
{
  echo "# Weakened builds: each invariant shown able to fail"
  echo
  echo "\`chaos-tests/weakened.sh\` at $(git rev-parse --short HEAD) on $(date -u +%Y-%m-%d): every weakened build was caught"
  echo "(the run fails otherwise). The report LocalChaosTest wrote:"
  echo
  cat chaos-tests/target/chaos-report/cluster-1/chaos-report.md
} > "$out"
echo "weakened.sh: wrote $out"
