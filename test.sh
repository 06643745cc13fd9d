#!/usr/bin/env bash
# The whole test suite, unit and integration, as CI runs it. Extra arguments go to Maven.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"
. scripts/java-env.sh
echo "test.sh: using JDK at $JAVA_HOME ($("$JAVA_HOME/bin/java" -version 2>&1 | head -1))"
# The REAL test backend: kube-apiserver, etcd and kubectl built from source (a no-op when present).
bash testing/apiserver/build.sh >/dev/null
# The tuner's integration tests query a real Prometheus server (Debian's package; a no-op when present).
bash scripts/prometheus.sh >/dev/null
# The Prometheus Operator's CRDs, which the deploy tests install to check deploy/components/monitoring (cached).
bash scripts/prometheus-operator-crds.sh >/dev/null
# The wall-clock skew test runs a replica under libfaketime (Debian's package; a no-op when present).
bash scripts/debian-tool.sh faketime faketime "the wall-clock skew test" >/dev/null
# The chaos suite's StressChaos runs stress-ng in a replica's cgroups (Debian's package; a no-op when present).
bash scripts/debian-tool.sh stress-ng stress-ng "the chaos suite's StressChaos" >/dev/null
# The chaos suite's HTML report is checked in headless Chromium (Debian's package; a no-op when present).
bash scripts/debian-tool.sh chromium chromium "the chaos report's screenshot test" >/dev/null
# The chaos workflow is linted by actionlint, built from the Go module proxy (cached; a no-op when built).
bash scripts/actionlint.sh >/dev/null
# The node agent (node-agent/: CO-RE eBPF programs with clang, a static Go binary; cached by its sources' hash) and its
# Go unit tests; the tuner's real-kernel scenarios run the binary (RealKernelScenarioTest).
bash node-agent/build.sh >/dev/null
(cd node-agent && go test ./... >/dev/null)
# The real VPA recommender the scenarios compare with, built from the Go module proxy (cached; a no-op when built).
bash scripts/vpa-recommender.sh >/dev/null
# The image is assembled as an OCI layout (umoci) and archived (skopeo): Debian's packages (no-ops when present).
bash scripts/debian-tool.sh umoci umoci "the container image (deploy/image/build.sh)" >/dev/null
bash scripts/debian-tool.sh skopeo skopeo "the container image (deploy/image/build.sh)" >/dev/null
./mvnw -B -ntp verify "$@"
