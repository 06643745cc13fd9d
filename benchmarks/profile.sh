#!/usr/bin/env bash
# Where the Flotilla and Java Operator SDK contenders spend their CPU, by library: one end-to-end run of each at N
# (5,000 by default) under JFR's profiling settings, then CpuShare charges every execution sample to the topmost
# frame outside the JDK. Writes benchmarks/results/profile-cpu-share.md (or the file given second).
#   bash benchmarks/profile.sh [N] [OUT.md]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. scripts/java-env.sh
n=${1:-5000}
out=${2:-benchmarks/results/profile-cpu-share.md}
bash testing/apiserver/build.sh >/dev/null
./mvnw -q -B -ntp -pl benchmarks,benchmarks-josdk -am package -DskipTests
work=$(mktemp -d /tmp/flotilla-profile-XXXXXX)
flags="-Xmx2g -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError"
args=()
for c in flotilla josdk; do
    mkdir -p "$work/$c"
    "$JAVA_HOME/bin/java" -Xmx3g -cp benchmarks/target/benchmarks.jar dev.flotilla.bench.e2e.EndToEnd \
        --josdk-jar benchmarks-josdk/target/josdk-contender.jar --out "$work/$c-run" --sizes "$n" --rounds 1 \
        --contenders "$c" --sharded-sizes 0 --side-sizes 0 \
        --jvm-flags "$flags -XX:StartFlightRecording=filename=$work/$c/,settings=profile" 2> "$work/$c-run.log" >/dev/null
    args+=("$c=$(ls "$work/$c"/*.jfr | paste -sd,)")
done
{
    echo "# Where the contenders' CPU goes, by library"
    echo
    echo "Measured $(date -u +%Y-%m-%dT%H:%M:%SZ) by \`bash benchmarks/profile.sh $n\` at $(git rev-parse --short HEAD): one end-to-end"
    echo "run of each contender at N = $n (sync, first pass, 400 updates; the JVM's whole life, start-up included) with"
    echo "\`-XX:StartFlightRecording=settings=profile\` and the benchmark's flags ($flags). Every \`jdk.ExecutionSample\`"
    echo "is charged to its topmost frame outside the JDK (\`CpuShare\`): a \`HashMap.get\` called by the guard counts as"
    echo "the guard's. Flotilla's own layers are Flotilla, Resilience4j and Micrometer (what it adds to a fabric8 client);"
    echo "the JOSDK contender runs JOSDK's defaults, without metrics."
    echo
    "$JAVA_HOME/bin/java" -cp benchmarks/target/benchmarks.jar dev.flotilla.bench.profile.CpuShare "${args[@]}"
    echo
    grep -h "e2e: \(FLOTILLA\|JOSDK\) N=" "$work"/*-run.log | sed 's/^e2e: /- /'
} > "$out"
cat "$out"
rm -rf "$work"
