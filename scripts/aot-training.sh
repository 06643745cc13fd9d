#!/usr/bin/env bash
# Trains the AOT cache of the flotilla CLI jar for one Java runtime: a run of `flotilla run` against the project's own
# kube-apiserver and etcd (dev.flotilla.manager.aot.AotTraining, in the manager module's test code, which starts them).
# A cache is only good for the runtime and jar it was trained with, so the build trains one with its JDK for the
# launcher (manager/target/flotilla.aot) and deploy/image/build.sh one with the image's runtime.
#
#   scripts/aot-training.sh [--if-possible] JAVA JAR OUTPUT
#
# --if-possible: without the REAL binaries (testing/apiserver/build.sh), say so and write no cache instead of failing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/scripts/java-env.sh"
flags=()
if [ "${1:-}" = "--if-possible" ]; then flags+=(--if-possible); shift; fi
[ $# -eq 3 ] || { echo "usage: aot-training.sh [--if-possible] JAVA JAR OUTPUT" >&2; exit 2; }
classpath_file="$root/manager/target/aot-training.classpath"
[ -f "$classpath_file" ] && [ -d "$root/manager/target/test-classes" ] || {
  echo "aot-training.sh: no $classpath_file or test classes: build the manager module first (./mvnw -pl manager -am package)" >&2
  exit 1
}
exec "$JAVA_HOME/bin/java" -cp "$root/manager/target/test-classes:$root/manager/target/classes:$(cat "$classpath_file")" \
  dev.flotilla.manager.aot.AotTraining "${flags[@]}" --java "$1" --jar "$2" --output "$3"
