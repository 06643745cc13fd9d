#!/usr/bin/env bash
# Builds actionlint (github.com/rhysd/actionlint, from the Go module proxy) at the pinned version into a cache
# directory, once; prints the binary's path. The workflow tests lint .github/workflows with it.
#   scripts/actionlint.sh
# Environment: FLOTILLA_TOOLS_DIR (default ${XDG_CACHE_HOME:-~/.cache}/flotilla/tools), GO (default: go on PATH,
# else /usr/local/go/bin/go).
set -euo pipefail
version=v1.7.12
dir=${FLOTILLA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flotilla/tools}/actionlint-$version
bin=$dir/actionlint
if [ -x "$bin" ] && "$bin" -version 2>/dev/null | head -1 | grep -qx "${version#v}"; then
  echo "$bin"
  exit 0
fi
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$go" ] || { echo "[actionlint] ERROR: Go is needed to build actionlint $version (install Go, or set GO)" >&2; exit 1; }
mkdir -p "$dir"
echo "[actionlint] building github.com/rhysd/actionlint $version into $dir" >&2
GOBIN=$dir "$go" install "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2
"$bin" -version >&2
echo "$bin"
