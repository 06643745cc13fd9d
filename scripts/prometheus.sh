#!/usr/bin/env bash
# Makes sure a real Prometheus server binary is available for the tuner's integration tests:
# Debian's `prometheus` package, installed when missing (a no-op afterwards). Tests start their own
# server with a temporary configuration and data directory; the package's service is not used.
# Prints the binary's path. Exit 1 with the reason when it cannot be installed.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/debian-tool.sh" prometheus prometheus "the tuner's integration tests"
