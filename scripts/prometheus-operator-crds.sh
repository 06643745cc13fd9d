#!/usr/bin/env bash
# The Prometheus Operator's ServiceMonitor and PrometheusRule CRDs, which DeployManifestsRealTest installs
# into the real test API server to validate deploy/components/monitoring against their schema. Taken from
# the operator's Go module through the Go module proxy (`go mod download` checks it against sum.golang.org)
# and copied to a cache outside the repository; a no-op once cached. Prints the directory holding them.
# Exit 1 with the reason when they cannot be fetched.
#   PROMETHEUS_OPERATOR_VERSION  the module version (default below: the newest the proxy served when pinned)
set -euo pipefail
version="${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
module=github.com/prometheus-operator/prometheus-operator
cache="${XDG_CACHE_HOME:-$HOME/.cache}/flotilla/prometheus-operator-crds/$version"
files=(monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml)
cached=1
for f in "${files[@]}"; do [ -s "$cache/$f" ] || cached=0; done
if [ "$cached" = 1 ]; then
  echo "$cache"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "[prometheus-operator-crds] ERROR: Go is needed to fetch $module@$version from the module proxy" >&2
  exit 1
fi
# Outside any module, so that `go mod download` fetches exactly this one.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if ! json=$(cd "$scratch" && GOFLAGS= go mod download -json "$module@$version"); then
  echo "[prometheus-operator-crds] ERROR: go mod download $module@$version failed: $json" >&2
  exit 1
fi
dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
mkdir -p "$scratch/out"
for f in "${files[@]}"; do
  src="$dir/example/prometheus-operator-crd/$f"
  [ -s "$src" ] || { echo "[prometheus-operator-crds] ERROR: $src is missing from $module@$version" >&2; exit 1; }
  cp "$src" "$scratch/out/$f"
done
mkdir -p "$(dirname "$cache")"
rm -rf "$cache"
mv "$scratch/out" "$cache"
echo "$cache"
