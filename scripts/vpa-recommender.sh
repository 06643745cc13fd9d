#!/usr/bin/env bash
# Builds the Kubernetes Vertical Pod Autoscaler's recommender (k8s.io/autoscaler/vertical-pod-autoscaler, from the Go
# module proxy) at the pinned version into the tools cache, once, and copies the module's VPA CRDs beside it.
# Prints two lines on stdout (everything else goes to stderr):
#   1. the recommender binary's path
#   2. the CRDs' path (deploy/vpa-v1-crd-gen.yaml of the same module: VerticalPodAutoscaler and
#      VerticalPodAutoscalerCheckpoint, autoscaling.k8s.io/v1)
#   scripts/vpa-recommender.sh            both lines
#   scripts/vpa-recommender.sh --crds     the CRDs' path only
# `go install pkg@version` refuses this module (its go.mod has exclude directives), so the module is downloaded with
# `go mod download` (checked against sum.golang.org) and built inside its directory of the module cache with
# -mod=readonly: the module's own go.mod and go.sum pin every dependency, and nothing in the cache is written.
# Environment: FLOTILLA_TOOLS_DIR (default ${XDG_CACHE_HOME:-~/.cache}/flotilla/tools), GO (default: go on PATH, else
# /usr/local/go/bin/go), VPA_VERSION (default below).
set -euo pipefail
version=${VPA_VERSION:-v1.8.1}
module=k8s.io/autoscaler/vertical-pod-autoscaler
dir=${FLOTILLA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flotilla/tools}/vpa-recommender-$version
bin=$dir/vpa-recommender
crds=$dir/vpa-v1-crd-gen.yaml

print() {
  if [ "${1:-}" = --crds ]; then
    echo "$crds"
  else
    echo "$bin"
    echo "$crds"
  fi
}

case "${1:-}" in
  ""|--crds) ;;
  *) echo "usage: $0 [--crds]" >&2; exit 2 ;;
esac

if [ -x "$bin" ] && [ -s "$crds" ] && [ -f "$dir/.built" ] && grep -qxF "$module@$version" "$dir/.built"; then
  print "${1:-}"
  exit 0
fi

go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$go" ] || { echo "[vpa-recommender] ERROR: Go is needed to build $module@$version (install Go, or set GO)" >&2; exit 1; }
mkdir -p "$dir"
# Two test runs building at once would race on the same output: one builds, the other waits for it.
exec 9>"$dir/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ -x "$bin" ] && [ -s "$crds" ] && [ -f "$dir/.built" ] && grep -qxF "$module@$version" "$dir/.built"; then
  print "${1:-}"
  exit 0
fi

# Outside any module, so that `go mod download` fetches exactly this one.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if ! json=$(cd "$scratch" && GOFLAGS= "$go" mod download -json "$module@$version"); then
  echo "[vpa-recommender] ERROR: go mod download $module@$version failed: $json" >&2
  exit 1
fi
src=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -d "$src/pkg/recommender" ] || { echo "[vpa-recommender] ERROR: no pkg/recommender in $src" >&2; exit 1; }
[ -s "$src/deploy/vpa-v1-crd-gen.yaml" ] || { echo "[vpa-recommender] ERROR: no deploy/vpa-v1-crd-gen.yaml in $src" >&2; exit 1; }
echo "[vpa-recommender] building $module/pkg/recommender $version (from $src) into $dir" >&2
start=$(date +%s)
(cd "$src" && GOFLAGS=-mod=readonly "$go" build -trimpath -o "$scratch/vpa-recommender" ./pkg/recommender) >&2
echo "[vpa-recommender] built in $(( $(date +%s) - start )) s" >&2
install -m 0755 "$scratch/vpa-recommender" "$bin"
install -m 0644 "$src/deploy/vpa-v1-crd-gen.yaml" "$crds"
echo "$module@$version" > "$dir/.built"
print "${1:-}"
