#!/usr/bin/env bash
# Builds a Go command from the Go module proxy at a pinned version into a cache directory, once; prints the binary's
# path (what it builds goes to stderr). The tool scripts (actionlint.sh, helm.sh) are this with their pins.
#   scripts/go-tool.sh <name> <version> <package@version-less> <version command> [go install flags...]
# The cached binary is used when "<binary> <version command>" prints a line holding <version>.
# Environment: FLOTILLA_TOOLS_DIR (default ${XDG_CACHE_HOME:-~/.cache}/flotilla/tools), GO (default: go on PATH,
# else /usr/local/go/bin/go).
set -euo pipefail
name=${1:?usage: go-tool.sh <name> <version> <package> <version command> [go install flags...]}
version=${2:?version}
package=${3:?package}
version_command=${4:?version command}
shift 4
dir=${FLOTILLA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flotilla/tools}/$name-$version
bin=$dir/$name
# shellcheck disable=SC2086 # the version command is words
if [ -x "$bin" ] && "$bin" $version_command 2>/dev/null | grep -qF -- "$version"; then
  echo "$bin"
  exit 0
fi
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$go" ] || { echo "[$name] ERROR: Go is needed to build $name $version (install Go, or set GO)" >&2; exit 1; }
mkdir -p "$dir"
echo "[$name] building $package $version into $dir" >&2
GOBIN=$dir "$go" install "$@" "$package@$version" >&2
# shellcheck disable=SC2086
"$bin" $version_command >&2
echo "$bin"
