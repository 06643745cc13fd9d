#!/usr/bin/env bash
# Makes sure a real Prometheus server binary is available for the tuner's integration tests:
# Debian's `prometheus` package, installed when missing (a no-op afterwards). Tests start their own
# server with a temporary configuration and data directory; the package's service is not used.
# Prints the binary's path. Exit 1 with the reason when it cannot be installed.
set -euo pipefail
if bin=$(command -v prometheus 2>/dev/null); then
  echo "$bin"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[prometheus] ERROR: prometheus is not installed and apt-get is not available; install Prometheus >= 2.40 and put it on PATH" >&2
  exit 1
fi
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo -n); else
    echo "[prometheus] ERROR: installing Debian's prometheus package needs root (or sudo)" >&2; exit 1; fi
fi
echo "[prometheus] installing Debian's prometheus package" >&2
if ! "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >&2; then
  "${sudo_cmd[@]}" apt-get update >&2 || true
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >&2 \
    || { echo "[prometheus] ERROR: apt-get install prometheus failed" >&2; exit 1; }
fi
# The package may start its own service; tests use their own instance on a free port.
command -v prometheus
