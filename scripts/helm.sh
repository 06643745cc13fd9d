#!/usr/bin/env bash
# Builds Helm (helm.sh/helm/v4, from the Go module proxy) at the pinned version into a cache directory, once;
# prints the binary's path. The k3s chaos suite installs Chaos Mesh's chart with it.
#   scripts/helm.sh
# Environment: FLOTILLA_TOOLS_DIR (default ${XDG_CACHE_HOME:-~/.cache}/flotilla/tools), GO (default: go on PATH,
# else /usr/local/go/bin/go).
set -euo pipefail
version=v4.3.2
dir=${FLOTILLA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flotilla/tools}/helm-$version
bin=$dir/helm
if [ -x "$bin" ] && "$bin" version --template '{{.Version}}' 2>/dev/null | grep -qx "$version"; then
  echo "$bin"
  exit 0
fi
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$go" ] || { echo "[helm] ERROR: Go is needed to build Helm $version (install Go, or set GO)" >&2; exit 1; }
mkdir -p "$dir"
echo "[helm] building helm.sh/helm/v4 $version into $dir" >&2
# The version is stamped as Helm's own release build stamps it; without it helm reports v4.x-dev.
GOBIN=$dir "$go" install -ldflags "-X helm.sh/helm/v4/internal/version.version=$version" "helm.sh/helm/v4/cmd/helm@$version" >&2
"$bin" version >&2
echo "$bin"
