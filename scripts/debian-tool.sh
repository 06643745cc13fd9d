#!/usr/bin/env bash
# Makes sure a command from a Debian package is available, installing the package when it is missing
# (a no-op afterwards). Prints the command's path. Exit 1 with the reason when it cannot be installed.
#   scripts/debian-tool.sh <command> <package> <what needs it>
set -euo pipefail
cmd=${1:?command}; pkg=${2:?package}; why=${3:-the tests}
if bin=$(command -v "$cmd" 2>/dev/null); then
  echo "$bin"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[$pkg] ERROR: $cmd is not installed and apt-get is not available; install Debian's $pkg package for $why" >&2
  exit 1
fi
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo -n); else
    echo "[$pkg] ERROR: installing Debian's $pkg package needs root (or sudo)" >&2; exit 1; fi
fi
echo "[$pkg] installing Debian's $pkg package ($why)" >&2
if ! "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >&2; then
  "${sudo_cmd[@]}" apt-get update >&2 || true
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >&2 \
    || { echo "[$pkg] ERROR: apt-get install $pkg failed" >&2; exit 1; }
fi
command -v "$cmd"
