#!/usr/bin/env bash
# The end-to-end benchmark from a fresh clone: builds the real kube-apiserver and etcd (cached in
# ~/.kubeapitest), the Flotilla and Java Operator SDK contenders, then runs every contender against
# one API server and writes benchmarks/results/e2e.md and e2e.json. Arguments go to EndToEnd
# (--sizes, --rounds, --rate, --updates, ...; see benchmarks/README.md).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. scripts/java-env.sh
bash testing/apiserver/build.sh >/dev/null
./mvnw -q -B -ntp -pl benchmarks,benchmarks-josdk -am package -DskipTests
exec "$JAVA_HOME/bin/java" -Xmx3g -cp benchmarks/target/benchmarks.jar dev.flotilla.bench.e2e.EndToEnd \
    --josdk-jar benchmarks-josdk/target/josdk-contender.jar --out benchmarks/results "$@"
