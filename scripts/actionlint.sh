#!/usr/bin/env bash
# Builds actionlint (github.com/rhysd/actionlint, from the Go module proxy) at the pinned version into a cache
# directory, once; prints the binary's path. The workflow tests lint .github/workflows with it.
#   scripts/actionlint.sh
# Environment: as scripts/go-tool.sh.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh" actionlint v1.7.12 github.com/rhysd/actionlint/cmd/actionlint -version
