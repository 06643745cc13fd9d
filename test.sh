#!/usr/bin/env bash
# The whole test suite, unit and integration, as CI runs it. Extra arguments go to Maven.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"
. scripts/java-env.sh
echo "test.sh: using JDK at $JAVA_HOME ($("$JAVA_HOME/bin/java" -version 2>&1 | head -1))"
./mvnw -B -ntp verify "$@"
